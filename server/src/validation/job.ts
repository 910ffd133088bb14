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
import { decide, FINAL_TRUST, Weight, type Decision, type Group, type Vote } from './quorum.ts';
import { ReplicaQueue, type Verdict as ScanVerdict } from './queue.ts';

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
  /** Known answers kept per job: the operator's and results validated by a trusted quorum. */
  reservoir: number;
}

export const DEFAULT_VALIDATION_PARAMS: ValidationParams = { spotCheck: 0.1, probation: 3, bootstrapQuorum: 3, checkRate: 0.25, reservoir: 256 };

/** A known answer (V4): leased like a task of the job, compared with its output. */
export interface KnownAnswerEntry {
  index: number;
  input: unknown;
  output: unknown;
  hash: string;
  /** Identities that ran this index before or got this check: they must not see it (again). */
  holders: Set<string>;
}

/** How a replica or check is written down (rule V13). */
export type ReplicaKind = 'vote' | 'check';
export type ReplicaVerdict = 'pending' | 'accepted' | 'rejected' | 'void' | 'credited' | 'passed' | 'failed';

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
}

interface TaskVotes {
  votes: Vote[];
  /** Identities holding or having held a replica (in flight or voted): never two to one identity (V6). */
  holders: Set<string>;
  nets: Map<string, number>;
  /** Attempts in flight, by id. */
  flying: Map<string, string>;
  /** Replicas wanted and not yet leased. */
  wanted: number;
  /** The least trust weight the wanted replicas must bring (quorum.ts `need`). */
  need: number;
  /** Which queue holds this task's entry, if any. */
  queuedIn: ReplicaQueue | null;
  /** adaptive: the spot check drawn for the trusted result that could stand alone (null: not drawn). */
  spot: boolean | null;
  /** adaptive: provisionally accepted on this identity (V9), with its checks passed at that moment. */
  provisionalOn: string | null;
  passedAt: number;
}

/** Provisional results by the identity they stand on, so its passed checks can make them final (V9). */
export class Probation {
  private readonly byIdentity = new Map<string, Map<JobValidation, Set<number>>>();

  add(identity: string, job: JobValidation, index: number): void {
    let jobs = this.byIdentity.get(identity);
    if (!jobs) this.byIdentity.set(identity, (jobs = new Map()));
    let set = jobs.get(job);
    if (!set) jobs.set(job, (set = new Set()));
    set.add(index);
  }

  remove(identity: string, job: JobValidation, index: number): void {
    const jobs = this.byIdentity.get(identity);
    const set = jobs?.get(job);
    if (!set) return;
    set.delete(index);
    if (set.size === 0) jobs!.delete(job);
    if (jobs!.size === 0) this.byIdentity.delete(identity);
  }

  /** Provisional results standing on `identity`: [job, indices]. */
  of(identity: string): Array<[JobValidation, number[]]> {
    const jobs = this.byIdentity.get(identity);
    return jobs ? [...jobs].map(([job, set]) => [job, [...set]]) : [];
  }

  has(identity: string, job: JobValidation): boolean {
    return this.byIdentity.get(identity)?.has(job) ?? false;
  }

  forget(job: JobValidation): void {
    for (const [id, jobs] of this.byIdentity) {
      jobs.delete(job);
      if (jobs.size === 0) this.byIdentity.delete(id);
    }
  }
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
  /** Provisional tasks, for the end of the job when they wait only for their volunteers' checks (V14). */
  private readonly provisional = new Set<number>();
  private readonly known: KnownAnswerEntry[] = [];
  /** Unsettled votes per identity: where a ban must roll back (V5). */
  private readonly byIdentity = new Map<string, Set<number>>();
  /** Results received (replicas and checks): the cost of validation. */
  replicas = 0;
  inconclusive = 0;

  constructor(
    readonly job: JobState,
    readonly policy: ValidationPolicy,
    private readonly host: ValidationHost,
    checks: ReadonlyArray<{ input: unknown; output: unknown; index?: number }> = [],
  ) {
    this.cmp = comparator(policy.compare);
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

  /** A bound on the work this job has for someone (fresh tasks, wanted replicas, the provisional tail). */
  workCount(): number {
    return this.job.freshLeft() + this.anyQueue.length + this.trustedQueue.length + (this.provisional.size > 0 ? 1 : 0);
  }

  // ------------------------------------------------------------------ leasing

  /** [V6] The next replica or check `v` may take from this job, already counted as leased; or nothing. */
  take(v: VolunteerState): Take | undefined {
    const id = v.identity;
    if (id === null) return undefined; // [V1] anonymous: no validated work
    const book = this.host.book;
    if (book.get(id)?.state === TrustState.banned) return undefined;
    const trusted = book.isTrusted(id);
    // [V4] Known answers for those still earning trust or seasoning: a check with no trusted volunteer's time spent.
    if (book.votes(id) < Weight.seasoned && this.known.length > 0 && this.host.random() < this.host.params.checkRate) {
      const check = this.knownFor(id);
      if (check) return { index: check.index, check };
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
      return { index };
    }
    const fresh = this.job.nextFresh();
    if (fresh !== undefined) {
      const t = this.votesOf(fresh);
      // strict: the first `quorum` replicas go out at once (to distinct identities), like BOINC's target_nresults.
      if (this.policy.mode === 'strict') this.want(fresh, t, this.policy.quorum - 1, 0);
      return { index: fresh };
    }
    return trusted ? this.tail(v, id) : undefined;
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
   * [V14] Nothing else to do for trusted `v`: corroborate a provisional result of another identity (a final
   * result, and a check passed for both), those of identities gone first; or, with only its own provisional
   * results left, take a known answer, so its probation can end.
   */
  private tail(v: VolunteerState, id: string): Take | undefined {
    let pick: number | undefined;
    for (const i of this.provisional) {
      const t = this.tasks.get(i);
      if (!t || t.provisionalOn === null || t.provisionalOn === id || !this.eligible(t, v)) continue;
      pick = i;
      if (!this.host.book.isOnline(t.provisionalOn)) break;
    }
    if (pick !== undefined) {
      const t = this.tasks.get(pick)!;
      this.provisional.delete(pick);
      this.host.probation.remove(t.provisionalOn!, this, pick);
      t.provisionalOn = null;
      t.need = 1;
      return { index: pick };
    }
    if (!this.host.probation.has(id, this)) return undefined;
    const check = this.knownFor(id);
    return check ? { index: check.index, check } : undefined;
  }

  // ------------------------------------------------------------------ outcomes

  /** An outcome of attempt `a` (ok with its output, or a failure): a vote, or a check's answer. */
  outcome(a: Attempt, ok: boolean, output: unknown, error: string | null): void {
    const v = a.volunteer;
    const id = v.identity!;
    const vote: Vote = { attempt: a.id, identity: id, network: v.network, ok, output: ok ? output : null, error, hash: ok ? outputHash(output) : FAILED_HASH, credited: false };
    this.replicas++;
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
    if (passed) book.pass(vote.identity);
    else if (vote.ok) book.fail(vote.identity, `wrong answer to a known-answer check (task ${check.index} of ${this.job.id})`);
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

  /** [T3] The task was lost with its volunteers too often: it fails (final), whatever its votes. */
  failTask(a: Attempt, error: string): void {
    const t = this.tasks.get(a.index);
    if (!t) return;
    if (t.flying.delete(a.id) && t.flying.size === 0) this.setState(a.index, TaskState.queued);
    this.end(a.index, t, { index: a.index, status: 'failed', error });
  }

  /** [V5] `identity` was banned: its unsettled votes no longer count; what they carried is decided again. */
  rollback(identity: string): number {
    const indices = this.byIdentity.get(identity);
    this.byIdentity.delete(identity);
    let rolledBack = 0;
    for (const i of indices ?? []) {
      const t = this.tasks.get(i);
      if (!t) continue;
      const vote = t.votes.find((x) => x.identity === identity);
      if (!vote) continue;
      t.votes = t.votes.filter((x) => x !== vote);
      this.host.journal.verdict(this.job, i, vote.attempt, 'void');
      if (t.provisionalOn === identity) {
        rolledBack++;
        t.provisionalOn = null;
        this.provisional.delete(i);
        this.host.probation.remove(identity, this, i);
      }
      t.spot = null;
      t.wanted = 0;
      this.evaluate(i, t);
    }
    return rolledBack;
  }

  /** [V9] `identity` passed another check: provisional results on it that served their probation are final. */
  probationCheck(identity: string, indices: number[]): void {
    const passed = this.host.book.get(identity)?.checksPassed ?? 0;
    for (const i of indices) {
      const t = this.tasks.get(i);
      if (!t || t.provisionalOn !== identity || passed - t.passedAt < this.host.params.probation) continue;
      this.evaluate(i, t, true);
    }
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

  /** The task's state as the dashboard shows it: votes, and whether it stands provisionally. */
  snapshot(index: number): { votes: readonly Vote[]; provisionalOn: string | null } | undefined {
    const t = this.tasks.get(index);
    return t && { votes: t.votes, provisionalOn: t.provisionalOn };
  }

  /** Identities with unsettled votes here (the trust book keeps their records). */
  identitiesInUse(): Iterable<string> {
    return this.byIdentity.keys();
  }

  /** The job ended (completed or cancelled): its provisional results no longer wait on anyone. */
  close(): void {
    this.host.probation.forget(this);
  }

  // ------------------------------------------------------------------ deciding

  private evaluate(index: number, t: TaskVotes, probationOver = false): void {
    const host = this.host;
    const book = host.book;
    const input = {
      mode: this.policy.mode,
      quorum: this.policy.quorum,
      maxReplicas: this.policy.maxReplicas,
      votes: t.votes,
      trustOf: (id: string) => book.votes(id),
      comparator: this.cmp,
      spotCheck: t.spot === true,
      probationOver,
      trustedOnline: book.onlineWithWeight(1) > 0,
      seasonedOnline: book.onlineWithWeight(2) > 0,
      bootstrapQuorum: host.params.bootstrapQuorum,
      bootstrapNetworks: book.onlineNetworks(false).size,
    };
    let verdict = decide(input);
    if (verdict.decision.kind === 'provisional' && t.spot === null) {
      // [V9] Drawn once per result that could stand alone: a check the volunteer cannot see coming.
      t.spot = host.random() < host.params.spotCheck;
      if (t.spot) verdict = decide({ ...input, spotCheck: true });
    }
    for (const v of verdict.credited) {
      v.credited = true;
      host.journal.verdict(this.job, index, v.attempt, 'credited');
      book.pass(v.identity);
    }
    for (const id of verdict.bootstrapLosers) book.lostBootstrap(id);
    this.apply(index, t, verdict.decision);
    // Trust moves last: a ban rolls back other tasks, and may come back to this one only once it is settled.
    for (const id of verdict.passed) book.pass(id);
    for (const id of verdict.contradicted) book.contradicted(id);
    for (const id of verdict.caught) book.fail(id, `result disagrees with a trusted quorum (task ${index} of ${this.job.id})`);
  }

  private apply(index: number, t: TaskVotes, d: Decision): void {
    if (t.provisionalOn !== null && (d.kind !== 'provisional' || d.on !== t.provisionalOn)) {
      this.host.probation.remove(t.provisionalOn, this, index);
      this.provisional.delete(index);
      t.provisionalOn = null;
    }
    switch (d.kind) {
      case 'final':
        return this.settle(index, t, d.group);
      case 'inconclusive': {
        this.inconclusive++;
        const error = `inconclusive: ${t.votes.length} results and no agreement (${describeGroups(d.groups)})`;
        return this.end(index, t, { index, status: 'failed', error });
      }
      case 'provisional':
        t.wanted = 0;
        if (t.provisionalOn === d.on) return;
        t.provisionalOn = d.on;
        t.passedAt = this.host.book.get(d.on)?.checksPassed ?? 0;
        this.provisional.add(index);
        this.host.probation.add(d.on, this, index);
        return;
      case 'more':
        return this.want(index, t, Math.max(0, d.n - t.flying.size), d.need, true);
    }
  }

  private settle(index: number, t: TaskVotes, winner: Group): void {
    if (winner.ok && winner.trust >= FINAL_TRUST && winner.top >= Weight.seasoned) this.remember(index, winner, t);
    const line: ResultLine = winner.ok
      ? { index, status: 'done', output: winner.output }
      : { index, status: 'failed', error: [...winner.votes].reverse().find((v) => this.host.book.isTrusted(v.identity))?.error ?? winner.votes[0]!.error ?? 'failed' };
    this.end(index, t, line, winner);
  }

  /**
   * The task is final: its votes settled (accepted if they are the winner's, rejected otherwise: after a
   * restart only unsettled votes count), out of every queue and index, its stray attempts stopped.
   */
  private end(index: number, t: TaskVotes, line: ResultLine, winner?: Group): void {
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
    const entry: KnownAnswerEntry = { index, input, output: winner.output, hash: winner.hash, holders: new Set(t.holders) };
    const cap = this.host.params.reservoir;
    if (this.known.length < cap) this.known.push(entry);
    else this.known[Math.floor(this.host.random() * cap)] = entry;
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
      t = { votes: [], holders: new Set(), nets: new Map(), flying: new Map(), wanted: 0, need: 0, queuedIn: null, spot: null, provisionalOn: null, passedAt: 0 };
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
