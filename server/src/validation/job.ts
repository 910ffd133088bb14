/**
 * Validation of one job's results (SPEC.md section V): which task a volunteer may take next (replicas to
 * distinct identities and networks, checks that look like work), each outcome as a vote, and the verdicts
 * of quorum.ts applied: a final result (rule E1: through the lease core's `finish`), a provisional one, more
 * replicas, an inconclusive failure, checks passed, identities caught.
 */
import type { Compare, ResultLine } from '@barnraise/shared';
import { TaskState, type Attempt, type JobState, type VolunteerState } from '../scheduler/state.ts';
import type { TrustBook } from './book.ts';
import { TrustState } from './trust.ts';
import { comparator, FAILED_HASH, outputHash, type Comparator } from './compare.ts';
import { decide, FINAL_TRUST, Weight, type Group, type Verdict, type Vote } from './quorum.ts';
import { Probation } from './probation.ts';
import type { Suspicion } from './suspicion.ts';
import { ReplicaQueue, type Verdict as ScanVerdict } from './queue.ts';

export { Probation };

export interface ValidationPolicy {
  mode: 'adaptive' | 'strict';
  quorum: number;
  maxReplicas: number;
  compare: Compare;
}

/** Master-wide settings of validation (SPEC.md V; the figures behind each default are in BENCHMARKS.md). */
export interface ValidationParams {
  /** adaptive: chance that a trusted result standing alone is replicated to another trusted volunteer (V9). */
  spotCheck: number;
  /** adaptive: checks a trusted volunteer must pass after a provisional result before it is final (V9). */
  probation: number;
  /** Agreeing untrusted identities that earn each a bootstrap check (V10). */
  bootstrapQuorum: number;
  /** Chance that an untrusted volunteer's lease is a known answer, when the job has one it has not seen (V4). */
  checkRate: number;
  /** adaptive: the same for a seasoned volunteer whose results wait on its probation here (V9). */
  probationCheckRate: number;
  /** Known answers kept per job: the operator's and results validated by a trusted quorum. */
  reservoir: number;
}

/**
 * [V9] Results settled into known answers (V4) before a job without the operator's checks asks a known answer
 * of every decision: enough that each volunteer has some to be checked with while more settle.
 */
export const MIN_DERIVED_KNOWN = 16;
export const DEFAULT_VALIDATION_PARAMS: ValidationParams = { spotCheck: 0.1, probation: 3, bootstrapQuorum: 3, checkRate: 0.25, probationCheckRate: 0.03, reservoir: 256 };

/** A known answer (V4): leased like a task of the job, compared with its output. */
export interface KnownAnswerEntry {
  index: number;
  input: unknown;
  output: unknown;
  hash: string;
  /** Identities that ran this index before or got this check: they must not see it (again). */
  holders: Set<string>;
  /** A result volunteers settled (V4), not the operator's: it bans one volunteer at most, then it is retired. */
  derived?: boolean;
}

/** How a replica or check is written down (rule V13). */
export type ReplicaKind = 'vote' | 'check';
export type ReplicaVerdict = 'pending' | 'accepted' | 'rejected' | 'void' | 'credited' | 'seasoning' | 'passed' | 'failed';

export interface ValidationJournal {
  replica(job: JobState, index: number, a: Attempt, vote: Vote, kind: ReplicaKind, verdict: ReplicaVerdict): void;
  verdict(job: JobState, index: number, attempt: string, verdict: ReplicaVerdict): void;
}

export type ValidationActivity =
  | { kind: 'identity-banned'; identity: string; reason: string; rolledBack: number }
  | { kind: 'identity-trusted'; identity: string }
  | { kind: 'task-inconclusive'; job: string; index: number; error: string };

/** What a job's validation needs from the scheduler. */
export interface ValidationHost {
  readonly book: TrustBook;
  readonly params: ValidationParams;
  random(): number;
  /** The task's one final result (the lease core's `finish`, rule E1). */
  finish(job: JobState, line: ResultLine): void;
  /** Tell volunteers to stop attempts whose task became final without them. */
  abort(attempts: string[], reason: string): void;
  readonly journal: ValidationJournal;
  readonly probation: Probation;
  /** [V15] Identities a held decision has caught, and the decisions parked on them. */
  readonly suspicion: Suspicion;
  /** [V15] `identity` is suspect no more: its vote weighs again wherever it voted. */
  cleared(identity: string): void;
  /**
   * [V9] `identity` passed a check of its result `seq`, by agreement with `evidence` (null: a known answer):
   * results waiting on its probation (of any job) may now stand.
   */
  passed(identity: string, seq: number, evidence: readonly string[] | null): void;
}

/** [V9] One supporter's probation on a decision: the checks that counted so far, of results after `after`. */
interface Wait {
  after: number;
  checks: number;
  /**
   * A known answer was among them: once the job has known answers, every decision needs one (volunteers that
   * woke together agree with one another). Also one that catches someone: two seasoned sleepers outvoting an
   * honest one ended their probation by agreeing with a third (a late-waking sleeper study, 2 wrong results
   * and 2 honest banned in 10 seeds). The caught is suspect meanwhile (V15), its vote weighing nothing.
   */
  known: boolean;
}

interface TaskVotes {
  votes: Vote[];
  /** Identities holding or having held a replica (in flight or voted): never two to one identity (V6). */
  holders: Set<string>;
  nets: Map<string, number>;
  /** Attempts in flight, by id. */
  flying: Map<string, string>;
  /** [V11] Identities that lost an attempt of it (with their socket): losses fail a task only from two. */
  lostBy: Set<string>;
  /** Replicas wanted and not yet leased. */
  wanted: number;
  /** The least trust weight the wanted replicas must bring (quorum.ts `need`). */
  need: number;
  /** Which queue holds this task's entry, if any. */
  queuedIn: ReplicaQueue | null;
  /** adaptive: the spot check drawn for the trusted result that could stand alone (null: not drawn). */
  spot: boolean | null;
  /**
   * [V9] The decision waiting for probation: the trusted supporters it waits on, each with its wait (which
   * of its results count, how many checks have); and the verdict to carry out (bans, contradicted failures)
   * once it is over.
   */
  waiting: Map<string, Wait> | null;
  /** Every supporter of the decision when its wait began: agreement among them is no check of them (V9). */
  group: ReadonlySet<string> | null;
  held: Verdict | null;
  /** [V15] Whom the held verdict accuses (its caught): suspect until it is carried out or undone. */
  accusing: readonly string[] | null;
  /** Votes that have had their check passed by this task (a re-decision passes nobody twice). */
  passed: Set<string>;
  /** Votes that no longer count: their volunteer left before its probation ended (V14). */
  stale: Set<string>;
  /** A tail corroboration was leased for it (V14): once is enough. */
  corroborated: boolean;
  /** Its probation was waived (V14): it stands unchecked, so it is no known answer for others (V4). */
  waived: boolean;
}

/** What `take` gives a volunteer: a replica of a task, or a known answer (a check that looks like one). */
export interface Take {
  index: number;
  check?: KnownAnswerEntry;
}

export class JobValidation {
  readonly cmp: Comparator;
  private readonly tasks = new Map<number, TaskVotes>();
  private readonly anyQueue = new ReplicaQueue();
  private readonly trustedQueue = new ReplicaQueue();
  /** Tasks waiting for probation, for the end of the job when nothing else is left (V14). */
  private readonly waiting = new Set<number>();
  /** Some vote of this job was a successful result (V11). */
  private anySuccess = false;
  private readonly known: KnownAnswerEntry[] = [];
  /** The operator gave known answers with the job: every decision needs one from the start (V9). */
  private readonly operatorChecks: boolean;
  /** Unsettled votes per identity: where a ban must roll back (V5). */
  private readonly byIdentity = new Map<string, Set<number>>();
  /** Tasks with a voter whose vote weighs more than when the task was last decided: to decide again (V9). */
  private readonly reweighed = new Set<number>();
  /** [V15] Decisions parked on a suspect that is suspect no more: to carry out at the next dispatch. */
  private readonly unparked = new Set<number>();
  /** Results received (replicas and checks): the cost of validation. */
  replicas = 0;
  /** Leases given, by what they were for: where the cost of validation goes (BENCHMARKS.md). */
  readonly leases = { fresh: 0, replica: 0, check: 0, tailCheck: 0, corroboration: 0 };
  inconclusive = 0;
  /** [V15] Decisions parked on a suspect supporter so far. */
  parked = 0;

  constructor(
    readonly job: JobState,
    readonly policy: ValidationPolicy,
    private readonly host: ValidationHost,
    checks: ReadonlyArray<{ input: unknown; output: unknown; index?: number }> = [],
  ) {
    this.cmp = comparator(policy.compare);
    this.operatorChecks = checks.length > 0;
    for (const c of checks) {
      const index = c.index ?? Math.floor(host.random() * job.spec.total);
      this.known.push({ index: Math.min(index, job.spec.total - 1), input: c.input, output: c.output, hash: outputHash(c.output), holders: new Set() });
    }
  }

  /** Tasks with results that are not final yet. */
  get awaiting(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.votes.length > 0) n++;
    return n;
  }

  /** Known answers it holds now (V4): the operator's and settled results re-issued. */
  get knownAnswers(): number {
    return this.known.length;
  }

  /** A bound on the work this job has for someone (fresh tasks, wanted replicas, the provisional tail). */
  workCount(): number {
    return this.job.freshLeft() + this.anyQueue.length + this.trustedQueue.length + (this.waiting.size > 0 ? 1 : 0);
  }

  // ------------------------------------------------------------------ leasing

  /** [V6] The next replica or check `v` may take from this job, already counted as leased; or nothing. */
  take(v: VolunteerState): Take | undefined {
    const id = v.identity;
    if (id === null) return undefined; // [V1] anonymous: no validated work
    const book = this.host.book;
    if (book.get(id)?.state === TrustState.banned) return undefined;
    const trusted = book.isTrusted(id);
    // [V4] Known answers for those still earning trust or seasoning: a check with no trusted volunteer's time spent;
    // [V9] and, less often, for a seasoned one whose results here wait on its probation.
    const rate = book.votes(id) < Weight.seasoned ? this.host.params.checkRate : this.host.probation.has(id, this) ? this.host.params.probationCheckRate : 0;
    if (rate > 0 && this.known.length > 0 && this.host.random() < rate) {
      const check = this.knownFor(id);
      if (check) return this.count('check', { index: check.index, check });
    }
    const judge = (queue: ReplicaQueue) => (i: number): ScanVerdict => {
      const t = this.tasks.get(i);
      if (!t || t.queuedIn !== queue || t.wanted <= 0) return 'stale';
      if (!this.eligible(t, v)) return 'skip';
      return t.wanted > 1 ? 'keep' : 'take';
    };
    let index: number | undefined;
    if (trusted) index = this.trustedQueue.scan(judge(this.trustedQueue));
    index ??= this.anyQueue.scan(judge(this.anyQueue));
    if (index !== undefined) {
      const t = this.tasks.get(index)!;
      t.wanted--;
      if (t.wanted === 0) t.queuedIn = null;
      return this.count('replica', { index });
    }
    const fresh = this.job.nextFresh();
    if (fresh !== undefined) {
      const t = this.votesOf(fresh);
      // strict: the first `quorum` replicas go out at once (to distinct identities), like BOINC's target_nresults.
      if (this.policy.mode === 'strict') this.want(fresh, t, this.policy.quorum - 1, 0);
      return this.count('fresh', { index: fresh });
    }
    // The end of the job: nothing left to claim from the store either (K1), only results waiting here.
    const ending = !this.job.claimable && !this.job.claiming;
    return trusted && ending ? this.tail(v, id) : undefined;
  }

  private count(kind: keyof JobValidation['leases'], take: Take): Take {
    this.leases[kind]++;
    return take;
  }

  /** Record that attempt `a` (made from what `take` gave) is in flight. */
  leased(a: Attempt): void {
    const id = a.volunteer.identity!;
    if (a.check) {
      a.check.holders.add(id);
      return;
    }
    const t = this.votesOf(a.index);
    if (t.flying.size === 0) this.setState(a.index, TaskState.leased);
    t.flying.set(a.id, id);
    t.holders.add(id);
    t.nets.set(a.volunteer.network, (t.nets.get(a.volunteer.network) ?? 0) + 1);
  }

  private eligible(t: TaskVotes, v: VolunteerState): boolean {
    const id = v.identity!;
    if (t.holders.has(id)) return false;
    if (t.need > 0 && this.host.book.votes(id) < t.need) return false;
    if (!t.nets.has(v.network)) return true;
    // [V6] A network already holding a replica only when every online network that could take it does.
    const online = this.host.book.onlineNetworks(t.need > 0);
    if (online.size > t.nets.size) return false;
    for (const n of online.keys()) if (!t.nets.has(n)) return false;
    return true;
  }

  private knownFor(id: string): KnownAnswerEntry | undefined {
    const start = Math.floor(this.host.random() * this.known.length);
    for (let k = 0; k < this.known.length; k++) {
      const c = this.known[(start + k) % this.known.length]!;
      if (!c.holders.has(id) && !this.tasks.get(c.index)?.holders.has(id)) return c;
    }
    return undefined;
  }

  /**
   * [V14] Nothing else to do for trusted `v`. If results here wait on its probation it needs checks: a known
   * answer it has not seen. Otherwise, or without one, it corroborates a waiting result it has not held (a
   * check of that result's supporters, and of `v` by them; each result is corroborated once). When it waits
   * and nothing is left to check it with, the swarm is too small to check it further: its probation here is
   * waived, and what waited on it stands.
   */
  private tail(v: VolunteerState, id: string): Take | undefined {
    const waits = this.host.probation.has(id, this);
    if (waits) {
      const check = this.knownFor(id);
      if (check) return this.count('tailCheck', { index: check.index, check });
    }
    for (const i of this.waiting) {
      const t = this.tasks.get(i);
      if (!t || t.corroborated || t.waiting?.has(id) || !this.eligible({ ...t, need: Weight.trusted }, v)) continue;
      // A result whose volunteers can still take known answers ends its wait that way, at a check each; a
      // corroboration is spent only where one of them has none left.
      if (!waits && [...t.waiting!.keys()].every((w) => this.knownFor(w) !== undefined)) continue;
      t.corroborated = true;
      return this.count('corroboration', { index: i });
    }
    if (waits) this.waive(id);
    return undefined;
  }

  /** [V14] End `identity`'s probation on this job's waiting results: nobody is left to check it with. */
  private waive(identity: string): void {
    for (const [job, indices] of this.host.probation.of(identity)) {
      if (job !== this) continue;
      for (const i of indices) {
        const t = this.tasks.get(i);
        // Someone else may still corroborate it: wait for that first.
        if (!t || t.flying.size > 0 || (!t.corroborated && this.host.book.onlineWithWeight(Weight.trusted) > t.holders.size)) continue;
        if (!t.waiting?.delete(identity)) continue;
        this.host.probation.remove(identity, this, i);
        t.waived = true;
        if (t.waiting.size === 0) this.settleHeld(i, t);
      }
    }
  }

  // ------------------------------------------------------------------ outcomes

  /** An outcome of attempt `a` (ok with its output, or a failure): a vote, or a check's answer. */
  outcome(a: Attempt, ok: boolean, output: unknown, error: string | null): void {
    const v = a.volunteer;
    const id = v.identity!;
    const vote: Vote = { attempt: a.id, identity: id, network: v.network, ok, output: ok ? output : null, error, hash: ok ? outputHash(output) : FAILED_HASH, credit: null, seq: this.host.probation.stamp() };
    this.replicas++;
    if (ok) this.anySuccess = true;
    if (a.check) return this.checkAnswered(a, a.check, vote);
    const t = this.tasks.get(a.index);
    if (!t || !t.flying.delete(a.id)) return; // the task became final meanwhile
    if (t.flying.size === 0) this.setState(a.index, TaskState.queued);
    this.host.journal.replica(this.job, a.index, a, vote, 'vote', 'pending');
    t.votes.push(vote);
    this.noteVote(id, a.index);
    this.evaluate(a.index, t);
  }

  /** [V4] A known answer's reply: it passes or fails a check; a failure to run it is contradicted (V11). */
  private checkAnswered(a: Attempt, check: KnownAnswerEntry, vote: Vote): void {
    const book = this.host.book;
    const passed = vote.ok && this.cmp.same(check.output, vote.output, check.hash, vote.hash);
    this.host.journal.replica(this.job, check.index, a, vote, 'check', passed ? 'passed' : 'failed');
    if (passed) this.pass(vote, null);
    else if (vote.ok) {
      // [V4] A settled result can be wrong (a colluder right most of the time passes its probation honestly):
      // as a known answer it bans once, not every honest volunteer it is leased to after.
      if (check.derived) this.retire(check);
      book.fail(vote.identity, `wrong answer to a known-answer check (task ${check.index} of ${this.job.id})`);
    }
    else book.contradicted(vote.identity);
  }

  /** An attempt ended without a vote (lost, released, cancelled): the replica is wanted again. */
  gone(a: Attempt): void {
    if (a.check) {
      a.check.holders.delete(a.volunteer.identity!);
      return;
    }
    const t = this.tasks.get(a.index);
    if (!t || !t.flying.delete(a.id)) return;
    if (t.flying.size === 0) this.setState(a.index, TaskState.queued);
    const id = a.volunteer.identity!;
    if (!t.votes.some((x) => x.identity === id)) {
      t.holders.delete(id);
      const n = (t.nets.get(a.volunteer.network) ?? 1) - 1;
      if (n > 0) t.nets.set(a.volunteer.network, n);
      else t.nets.delete(a.volunteer.network);
    }
    if (this.job.state[a.index] !== TaskState.done && this.job.state[a.index] !== TaskState.failed) this.want(a.index, t, 1, t.need);
  }

  /** [J4] A failed task is retried: it starts over with no votes, like a fresh one. */
  reopened(index: number): void {
    const t = this.votesOf(index);
    this.want(index, t, this.policy.mode === 'strict' ? this.policy.quorum : 1, 0, true);
  }

  /**
   * [T3][V11] `a` was lost with its volunteer, the task's `losses`-th loss. Losses are failures, so they fail
   * the task as failures do, on the word of trusted volunteers: `maxLosses` losses with at least two identities
   * among the losers, one of them trusted (a task that crashes every host crashes theirs too); or three times
   * as many from anyone (a swarm of one, or nobody trusted), or it would loop for ever. Else the replica is
   * wanted again: volunteers that take leases and drop their sockets, over and over, fail nothing. True when
   * the task failed.
   */
  lost(a: Attempt, losses: number, maxLosses: number, error: string): boolean {
    const t = this.tasks.get(a.index);
    if (t) t.lostBy.add(a.volunteer.identity!);
    const trusted = (id: string) => !this.host.suspicion.isSuspect(id) && this.host.book.votes(id) >= Weight.trusted;
    const enough = t !== undefined && t.lostBy.size >= 2 && [...t.lostBy].some(trusted);
    if (losses >= maxLosses && (enough || losses >= Math.min(255, 3 * maxLosses))) {
      this.failTask(a, error);
      return true;
    }
    this.gone(a);
    return false;
  }

  /** [T3] The task was lost with its volunteers too often: it fails (final), whatever its votes. */
  failTask(a: Attempt, error: string): void {
    const t = this.tasks.get(a.index);
    if (!t) return;
    if (t.flying.delete(a.id) && t.flying.size === 0) this.setState(a.index, TaskState.queued);
    this.end(a.index, t, { index: a.index, status: 'failed', error });
  }

  /** [V5] `identity` was banned: its unsettled votes no longer count; what they carried is decided again. */
  rollback(identity: string): number {
    return this.drop(identity, 'void');
  }

  /**
   * [V14] `identity` left and did not come back: results waiting on its probation cannot get its checks, so
   * its votes there stop counting and those tasks get more replicas. Returns how many were affected.
   */
  abandon(identity: string): number {
    return this.drop(identity, 'stale');
  }

  private drop(identity: string, why: 'void' | 'stale'): number {
    const indices = why === 'void' ? this.byIdentity.get(identity) : new Set(this.host.probation.of(identity).find(([job]) => job === this)?.[1] ?? []);
    if (why === 'void') this.byIdentity.delete(identity);
    let rolledBack = 0;
    for (const i of [...(indices ?? [])]) {
      const t = this.tasks.get(i);
      if (!t) continue;
      const vote = t.votes.find((x) => x.identity === identity);
      if (!vote) continue;
      if (why === 'void') {
        t.votes = t.votes.filter((x) => x !== vote);
        this.host.journal.verdict(this.job, i, vote.attempt, 'void');
      } else t.stale.add(identity);
      if (t.waiting?.has(identity)) rolledBack++;
      this.unwait(i, t);
      t.spot = null;
      t.wanted = 0;
      this.evaluate(i, t);
    }
    return rolledBack;
  }

  /**
   * [V9] Every decision needs a known answer among its checks: from the start when the operator gave some,
   * else once MIN_DERIVED_KNOWN results of the job have settled into known answers. Not at the first: each
   * volunteer soon held it once, so nothing settled, so no other known answer came, and the whole job's
   * results waited for its end (V14) in 2 of 25 runs of the common benchmark's adaptive job.
   */
  private needsKnown(): boolean {
    return this.operatorChecks ? this.known.length > 0 : this.known.length >= MIN_DERIVED_KNOWN;
  }

  /**
   * [V9] `identity` passed a check of its result `seq` by `evidence` (null: a known answer). It counts toward
   * a decision waiting on it only if that result came after the decision's own (results of its past, checked
   * late, say nothing of what it returns now) and the evidence is not only the decision's own supporters
   * (who would else end each other's probations). Once the job has known answers, one of the checks of a
   * decision must be a known answer: agreement with other volunteers that woke with it ends no probation
   * alone. Results whose probation it ends settle.
   */
  probationCheck(identity: string, seq: number, evidence: readonly string[] | null): void {
    const probation = this.host.probation;
    // Waits that want a known answer only move on one (or once the job has none); the rest on any check.
    const wantKnown = !evidence || !this.needsKnown() ? probation.wantingKnown(identity, this) : undefined;
    const indices = [...(probation.indices(identity, this) ?? []), ...(wantKnown ?? [])];
    for (const i of indices) {
      const t = this.tasks.get(i);
      const wait = t?.waiting?.get(identity);
      if (!t || !wait || seq <= wait.after) continue;
      if (evidence && !evidence.some((e) => !t.group?.has(e))) continue;
      if (!evidence) wait.known = true;
      if (++wait.checks < this.host.params.probation) continue;
      if (!wait.known && this.needsKnown()) {
        probation.wantKnown(identity, this, i);
        continue;
      }
      t.waiting!.delete(identity);
      this.host.probation.remove(identity, this, i);
      if (t.waiting!.size === 0) this.settleHeld(i, t);
    }
  }

  /**
   * [V9] `identity`'s vote weighs more now (it became trusted or seasoned): tasks it voted on are decided
   * again at the next dispatch (`redecide`). A task is decided only as votes come, so one whose every possible
   * voter has voted (a small swarm) would else wait for ever for a replica of more trust that nobody is left
   * to give, though its voters now bring that trust themselves.
   */
  reweigh(identity: string): void {
    for (const i of this.byIdentity.get(identity) ?? []) this.reweighed.add(i);
  }

  /**
   * Decide again the tasks `reweigh` marked (not in the middle of deciding another: trust moves as it does)
   * where nobody is left to ask: no replica in flight, and every online identity of the trust the task waits
   * for has voted on it. Elsewhere the next replica decides it as before; so a patient sleeper just seasoned
   * does not pass, at once, a burst of checks on the honest votes of its past that would end its probation.
   */
  redecide(): void {
    if (this.unparked.size > 0) {
      const indices = [...this.unparked];
      this.unparked.clear();
      for (const i of indices) {
        const t = this.tasks.get(i);
        if (t?.held && t.waiting?.size === 0) this.settleHeld(i, t);
      }
    }
    if (this.reweighed.size === 0) return;
    const indices = [...this.reweighed];
    this.reweighed.clear();
    for (const i of indices) {
      const t = this.tasks.get(i);
      // A decision waiting on probation stands as it is (V9); it ends by checks.
      if (!t || t.votes.length === 0 || t.waiting !== null || t.flying.size > 0 || this.askable(t)) continue;
      this.evaluate(i, t);
    }
  }

  /** Someone online could still bring the replica `t` wants: an identity of that trust that has not held it. */
  private askable(t: TaskVotes): boolean {
    const book = this.host.book;
    let held = 0;
    for (const id of t.holders) if (book.isOnline(id) && book.votes(id) >= t.need) held++;
    return book.onlineWithWeight(t.need) > held;
  }

  /** [V13] After a restart: a task's durable votes, decided again (provisional results start their probation over). */
  restore(index: number, votes: Vote[]): void {
    const t = this.votesOf(index);
    for (const v of votes) {
      t.votes.push(v);
      t.holders.add(v.identity);
      t.nets.set(v.network, (t.nets.get(v.network) ?? 0) + 1);
      this.noteVote(v.identity, index);
    }
    this.evaluate(index, t);
  }

  /** The task's state as the dashboard shows it: votes, and whom its settling waits on. */
  snapshot(index: number): { votes: readonly Vote[]; waitingOn: string[] } | undefined {
    const t = this.tasks.get(index);
    return t && { votes: t.votes, waitingOn: [...(t.waiting?.keys() ?? [])] };
  }

  /** Identities with unsettled votes here (the trust book keeps their records). */
  identitiesInUse(): Iterable<string> {
    return this.byIdentity.keys();
  }

  /** The job ended (completed or cancelled): its provisional results no longer wait on anyone. */
  close(): void {
    this.host.probation.forget(this);
    this.host.suspicion.forget(this);
    // [V15] Its held decisions will never be carried out: whom they accused is suspect of them no more.
    for (const t of this.tasks.values()) {
      const accused = t.accusing;
      t.accusing = null;
      for (const id of accused ?? []) this.clear(id);
    }
  }

  // ------------------------------------------------------------------ deciding

  private evaluate(index: number, t: TaskVotes): void {
    const host = this.host;
    const book = host.book;
    const input = {
      mode: this.policy.mode,
      quorum: this.policy.quorum,
      maxReplicas: this.policy.maxReplicas,
      votes: t.stale.size > 0 ? t.votes.filter((v) => !t.stale.has(v.identity)) : t.votes,
      // [V15] A suspect's vote weighs nothing until its accusation is carried out or undone.
      trustOf: (id: string) => (host.suspicion.isSuspect(id) ? 0 : book.votes(id)),
      isSuspect: (id: string) => host.suspicion.isSuspect(id),
      comparator: this.cmp,
      spotCheck: t.spot === true,
      trustedOnline: book.onlineWithWeight(1) > 0,
      seasonedOnline: book.onlineWithWeight(2) > 0,
      bootstrapQuorum: host.params.bootstrapQuorum,
      bootstrapNetworks: book.onlineNetworks(false).size,
      jobHasSuccess: this.anySuccess,
    };
    let verdict = decide(input);
    if (verdict.decision.kind === 'provisional' && t.spot === null) {
      // [V9] Drawn once per result that could stand alone: a check the volunteer cannot see coming.
      t.spot = host.random() < host.params.spotCheck;
      if (t.spot) verdict = decide({ ...input, spotCheck: true });
    }
    for (const v of verdict.credited) {
      v.credit = verdict.creditLevel;
      const peers = verdict.credited.filter((x) => x !== v).map((x) => x.identity);
      host.journal.verdict(this.job, index, v.attempt, verdict.creditLevel === 'trust' ? 'credited' : 'seasoning');
      this.pass(v, peers);
    }
    for (const id of verdict.bootstrapLosers) book.lostBootstrap(id);
    this.apply(index, t, verdict);
  }

  private apply(index: number, t: TaskVotes, verdict: Verdict): void {
    const d = verdict.decision;
    if (d.kind !== 'final' && d.kind !== 'provisional') this.unwait(index, t);
    switch (d.kind) {
      case 'final':
      case 'provisional':
        return this.hold(index, t, verdict);
      case 'inconclusive': {
        this.inconclusive++;
        const error = `inconclusive: ${t.votes.length} results and no agreement (${describeGroups(d.groups)})`;
        return this.end(index, t, { index, status: 'failed', error });
      }
      case 'more':
        return this.want(index, t, Math.max(0, d.n - t.flying.size), d.need, true);
    }
  }

  /**
   * [V9] A decision is carried out only once every trusted supporter of it (the operator's vouched machines
   * excepted) has passed `probation` more checks of results it returned after its vote here, by evidence from
   * outside the decision's supporters (`probationCheck`): sleepers that agree on a wrong answer, and seasoned
   * colluders, are caught by their next checks first. Checks passed by the decision count now (they are how
   * other probations end); bans and contradictions wait for the decision to stand.
   */
  private hold(index: number, t: TaskVotes, verdict: Verdict): void {
    const group = verdict.decision.kind === 'final' || verdict.decision.kind === 'provisional' ? verdict.decision.group : null;
    if (!group) return;
    t.wanted = 0;
    t.queuedIn = null;
    const book = this.host.book;
    for (const id of verdict.passed) {
      if (t.passed.has(id)) continue;
      t.passed.add(id);
      const evidence = group.votes.filter((v) => v.identity !== id && book.votes(v.identity) >= Weight.trusted).map((v) => v.identity);
      this.pass(group.votes.find((v) => v.identity === id)!, evidence);
    }
    if (group.top >= Weight.vouched || this.policy.mode === 'strict') {
      // strict promises a quorum with one trusted vote, no more (V8); the operator's machine is its own proof.
      this.unwait(index, t);
      return this.settle(index, t, verdict);
    }
    const supporters = group.votes.map((v) => v.identity).filter((id) => book.votes(id) >= Weight.trusted);
    const waiting = t.waiting ?? new Map<string, Wait>();
    for (const id of [...waiting.keys()]) if (!supporters.includes(id)) this.host.probation.remove(id, this, index);
    // Who the wait is on is fixed when it begins: a volunteer that corroborates later is evidence, not a new
    // wait (else every check of a waiting result would make it wait longer).
    const on = t.waiting ? supporters.filter((id) => waiting.has(id)) : supporters;
    const own = t.waiting && t.group ? t.group : new Set(group.votes.map((v) => v.identity));
    const next = new Map<string, Wait>();
    const probation = this.host.params.probation;
    for (const id of on) {
      const wait = waiting.get(id) ?? { after: group.votes.find((v) => v.identity === id)!.seq ?? 0, checks: 0, known: false };
      // A wait that has its checks but wants a known answer still waits for one (as in probationCheck).
      if (wait.checks >= probation && (wait.known || !this.needsKnown())) {
        this.host.probation.remove(id, this, index);
        continue;
      }
      next.set(id, wait);
      if (wait.checks >= probation) this.host.probation.wantKnown(id, this, index);
      else this.host.probation.add(id, this, index);
    }
    t.held = verdict;
    this.accuse(t, verdict.caught);
    if (next.size === 0) return this.settleHeld(index, t);
    t.waiting = next;
    t.group = own;
    this.waiting.add(index);
  }

  /** [V4][V9] `vote`'s identity passed a check, by agreement with `evidence` (null: a known answer). */
  private pass(vote: Vote, evidence: readonly string[] | null): void {
    this.host.book.pass(vote.identity);
    this.host.passed(vote.identity, vote.seq ?? 0, evidence);
  }

  private unwait(index: number, t: TaskVotes): void {
    for (const id of t.waiting?.keys() ?? []) this.host.probation.remove(id, this, index);
    t.waiting = null;
    t.group = null;
    t.held = null;
    this.waiting.delete(index);
    const accused = t.accusing;
    t.accusing = null;
    for (const id of accused ?? []) this.clear(id);
  }

  /** [V15] The held verdict catches `caught`: they are suspect (and those it caught before and not now, no longer). */
  private accuse(t: TaskVotes, caught: readonly string[]): void {
    const before = t.accusing ?? [];
    t.accusing = caught.length > 0 ? [...caught] : null;
    for (const id of caught) if (!before.includes(id)) this.host.suspicion.accuse(id);
    for (const id of before) if (!caught.includes(id)) this.clear(id);
  }

  /** [V15] One accusation of `identity` is over; once none is left, what was parked on it is carried out next dispatch. */
  private clear(identity: string): void {
    const parked = this.host.suspicion.release(identity);
    if (this.host.suspicion.isSuspect(identity)) return;
    for (const [job, indices] of parked) job.unpark(indices);
    this.host.cleared(identity);
  }

  /** [V15] Decisions parked on a suspect no longer suspect: carried out (or parked again) at the next dispatch. */
  unpark(indices: readonly number[]): void {
    for (const i of indices) this.unparked.add(i);
  }

  private settleHeld(index: number, t: TaskVotes): void {
    const verdict = t.held;
    if (verdict && verdict.caught.length === 0 && this.park(index, t, verdict)) return;
    this.unwait(index, t);
    if (verdict) this.settle(index, t, verdict);
  }

  /**
   * [V15] A decision that catches nobody waits while one of its supporters is suspect: parked on each such
   * supporter, its probation over (an empty wait), until the accusation is carried out (a ban sends the task
   * back for validation) or undone. A decision that catches someone is never parked, so no two accusations
   * can wait on each other.
   */
  private park(index: number, t: TaskVotes, verdict: Verdict): boolean {
    const d = verdict.decision;
    if (d.kind !== 'final' && d.kind !== 'provisional') return false;
    const suspects = d.group.votes.filter((v) => this.host.suspicion.isSuspect(v.identity));
    if (suspects.length === 0) return false;
    for (const id of t.waiting?.keys() ?? []) this.host.probation.remove(id, this, index);
    t.waiting = new Map();
    t.group ??= new Set(d.group.votes.map((v) => v.identity));
    this.waiting.add(index);
    for (const v of suspects) this.host.suspicion.park(v.identity, this, index);
    this.parked++;
    return true;
  }

  private settle(index: number, t: TaskVotes, verdict: Verdict): void {
    const d = verdict.decision;
    if (d.kind !== 'final' && d.kind !== 'provisional') return;
    const winner = d.group;
    if (winner.ok && winner.trust >= FINAL_TRUST && winner.top >= Weight.seasoned && !t.waived) this.remember(index, winner, t);
    const line: ResultLine = winner.ok
      ? { index, status: 'done', output: winner.output }
      : { index, status: 'failed', error: [...winner.votes].reverse().find((v) => this.host.book.isTrusted(v.identity))?.error ?? winner.votes[0]!.error ?? 'failed' };
    this.end(index, t, line, winner);
    // Trust moves last: a ban rolls back other tasks, and may come back to this one only once it is settled.
    for (const id of verdict.contradicted) this.host.book.contradicted(id);
    for (const id of verdict.caught) this.host.book.fail(id, `result disagrees with a trusted quorum (task ${index} of ${this.job.id})`);
  }

  /**
   * The task is final: its votes settled (accepted if they are the winner's, rejected otherwise: after a
   * restart only unsettled votes count), out of every queue and index, its stray attempts stopped.
   */
  private end(index: number, t: TaskVotes, line: ResultLine, winner?: Group): void {
    this.unwait(index, t);
    this.tasks.delete(index);
    for (const v of t.votes) {
      this.unnoteVote(v.identity, index);
      this.host.journal.verdict(this.job, index, v.attempt, winner?.votes.includes(v) ? 'accepted' : 'rejected');
    }
    if (t.flying.size > 0) {
      this.job.counts.leased--;
      this.host.abort([...t.flying.keys()], 'task already settled');
    } else this.job.counts.queued--;
    this.host.finish(this.job, line);
  }

  /** [V4] A result a trusted quorum settled becomes a known answer for later checks. */
  private remember(index: number, winner: Group, t: TaskVotes): void {
    const input = this.job.inputs[index];
    if (input === undefined) return;
    const entry: KnownAnswerEntry = { index, input, output: winner.output, hash: winner.hash, holders: new Set(t.holders), derived: true };
    const cap = this.host.params.reservoir;
    if (this.known.length < cap) this.known.push(entry);
    else this.known[Math.floor(this.host.random() * cap)] = entry;
  }

  private retire(check: KnownAnswerEntry): void {
    const k = this.known.indexOf(check);
    if (k >= 0) this.known.splice(k, 1);
  }

  private want(index: number, t: TaskVotes, n: number, need: number, replace = false): void {
    t.wanted = replace ? n : t.wanted + n;
    const queue = need > 0 ? this.trustedQueue : this.anyQueue;
    t.need = need;
    if (t.wanted <= 0) {
      t.queuedIn = null;
      return;
    }
    if (t.queuedIn === queue) return;
    t.queuedIn = queue;
    queue.push(index);
  }

  private votesOf(index: number): TaskVotes {
    let t = this.tasks.get(index);
    if (!t) {
      t = { votes: [], holders: new Set(), nets: new Map(), flying: new Map(), lostBy: new Set(), wanted: 0, need: 0, queuedIn: null, spot: null, waiting: null, group: null, held: null, accusing: null, passed: new Set(), stale: new Set(), corroborated: false, waived: false };
      this.tasks.set(index, t);
    }
    return t;
  }

  /** Leased or queued, with the job's counts kept in step (validated tasks may have several replicas in flight). */
  private setState(index: number, state: typeof TaskState.queued | typeof TaskState.leased): void {
    const job = this.job;
    if (job.state[index] === state) return;
    job.state[index] = state;
    if (state === TaskState.leased) {
      job.counts.queued--;
      job.counts.leased++;
    } else {
      job.counts.leased--;
      job.counts.queued++;
    }
  }

  private noteVote(identity: string, index: number): void {
    let set = this.byIdentity.get(identity);
    if (!set) this.byIdentity.set(identity, (set = new Set()));
    set.add(index);
  }

  private unnoteVote(identity: string, index: number): void {
    const set = this.byIdentity.get(identity);
    if (!set) return;
    set.delete(index);
    if (set.size === 0) this.byIdentity.delete(identity);
  }
}

function describeGroups(groups: Group[]): string {
  return groups
    .map((g) => `${g.ok ? `output ${g.hash}` : 'failed'}: ${g.votes.length} result${g.votes.length === 1 ? '' : 's'}, ${g.trust} trusted vote${g.trust === 1 ? '' : 's'}`)
    .join('; ');
}
