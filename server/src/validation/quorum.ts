/**
 * The quorum rules (SPEC.md V7-V12) as one pure function: given a task's votes and the weight of each voter's
 * trust, decide whether the task is final, provisionally accepted, needs more replicas (and of what trust), or
 * is inconclusive; and who passed a check by it, who is caught, who earned a bootstrap credit. No clock, no
 * I/O: job.ts applies the verdict.
 */
import type { Comparator } from './compare.ts';

/** One replica's outcome, counted as a vote on its task. */
export interface Vote {
  attempt: string;
  identity: string;
  network: string;
  ok: boolean;
  /** The output (ok), or null. */
  output: unknown;
  error: string | null;
  /** Hash of the canonical output; FAILED_HASH for a failure. */
  hash: string;
  /** The bootstrap credit this vote earned its identity (V10): toward trust, or toward seasoning; one at most. */
  credit: Credit;
  /**
   * [V9] Its place among the votes and checks this master received (Probation.stamp): a probation counts only
   * checks of results returned after the decision's own. Absent for votes read back from the store (V13).
   */
  seq?: number;
}

export type Credit = 'trust' | 'seasoning' | null;

/** Votes for one answer (or for "failed"). */
export interface Group {
  ok: boolean;
  hash: string;
  output: unknown;
  votes: Vote[];
  /** Sum of its supporters' trust weights (V7). */
  trust: number;
  /** The largest trust weight among its supporters. */
  top: number;
  networks: number;
}

/** Trust weights (V7): untrusted, trusted, seasoned, vouched. */
export const Weight = { untrusted: 0, trusted: 1, seasoned: 2, vouched: 3 } as const;

/**
 * [V9] Trust a final result needs, with a seasoned (or vouched) supporter among it: a seasoned volunteer and
 * one more trusted, two seasoned, or the operator's vouched machine. Identities trusted only lately do not
 * settle anything among themselves: sleepers become trusted together, and lie from then on.
 */
export const FINAL_TRUST = 3;

export interface QuorumInput {
  mode: 'adaptive' | 'strict';
  quorum: number;
  maxReplicas: number;
  votes: readonly Vote[];
  /** Trust weight of an identity (banned identities' votes are not passed in). */
  trustOf(identity: string): number;
  /** [V15] A held decision caught it: its vote weighs 0 (trustOf) and is not counted toward `maxReplicas` yet. */
  isSuspect?(identity: string): boolean;
  comparator: Comparator;
  /** adaptive: a spot check was drawn for the seasoned result that could stand alone (V9). */
  spotCheck: boolean;
  /** Connected identities with at least this weight exist: a replica of that trust can be asked for. */
  trustedOnline: boolean;
  seasonedOnline: boolean;
  /** Agreeing identities that earn a bootstrap credit (V10), and how many networks they must span. */
  bootstrapQuorum: number;
  bootstrapNetworks: number;
  /** Some task of the job has a successful result: its code works, so failures alone prove nothing (V11). */
  jobHasSuccess: boolean;
}

export type Decision =
  | { kind: 'final'; group: Group; others: Group[] }
  | { kind: 'provisional'; group: Group; on: string }
  /** `n` more replicas, from identities of trust weight `need` or more. */
  | { kind: 'more'; need: number; n: number }
  | { kind: 'inconclusive'; groups: Group[] };

export interface Verdict {
  decision: Decision;
  /** Identities that passed a check by this task (V4). */
  passed: string[];
  /** Identities caught: their result disagrees with a trusted quorum (V5). */
  caught: string[];
  /** Identities whose failure a final result contradicts (V11). */
  contradicted: string[];
  /** Votes that earned a bootstrap credit now (V10), at which level, and identities that lost a bootstrap vote. */
  credited: Vote[];
  creditLevel: Exclude<Credit, null>;
  bootstrapLosers: string[];
}

/** [V7] Group votes by the job's comparator; every failure joins the one "failed" group. */
export function groupVotes(votes: readonly Vote[], cmp: Comparator, trustOf: (id: string) => number): Group[] {
  const groups: Group[] = [];
  for (const v of votes) {
    const g = groups.find((x) => x.ok === v.ok && (!v.ok || cmp.same(x.output, v.output, x.hash, v.hash)));
    if (g) g.votes.push(v);
    else groups.push({ ok: v.ok, hash: v.hash, output: v.output, votes: [v], trust: 0, top: 0, networks: 0 });
  }
  for (const g of groups) {
    for (const v of g.votes) {
      const w = trustOf(v.identity);
      g.trust += w;
      g.top = Math.max(g.top, w);
    }
    g.networks = new Set(g.votes.map((v) => v.network)).size;
  }
  // Most trust first, then most supporters.
  return groups.sort((a, b) => b.trust - a.trust || b.votes.length - a.votes.length);
}

/** A group that can settle a task and catch those who disagree with it (V5, V8, V9). */
function trustedQuorum(g: Group, inp: QuorumInput): boolean {
  if (inp.mode === 'strict') return g.votes.length >= inp.quorum && g.trust >= Weight.trusted;
  return g.trust >= FINAL_TRUST && g.top >= Weight.seasoned;
}

export function decide(inp: QuorumInput): Verdict {
  const groups = groupVotes(inp.votes, inp.comparator, inp.trustOf);
  const verdict: Verdict = { decision: { kind: 'more', need: 0, n: 1 }, passed: [], caught: [], contradicted: [], credited: [], creditLevel: 'trust', bootstrapLosers: [] };
  const winner = inp.mode === 'strict' ? strictWinner(groups, inp) : adaptiveWinner(groups, inp);
  if (winner) {
    settle(verdict, winner, groups, inp);
    return verdict;
  }
  const best = groups[0];
  if (inp.mode === 'adaptive' && best && best.ok && groups.length === 1 && best.top >= Weight.seasoned && !inp.spotCheck) {
    // [V9] A seasoned volunteer's result, no disagreement: accepted provisionally (its probation is job.ts's).
    verdict.decision = { kind: 'provisional', group: best, on: best.votes.find((v) => inp.trustOf(v.identity) >= Weight.seasoned)!.identity };
    return verdict;
  }
  // [V12] Inconclusive when volunteers whose word settles tasks cannot agree (seasoned ones; trusted ones in
  // strict). Disagreement of less trusted ones costs a saboteur nothing, so it only makes the task wait for
  // such replicas (up to a hard cap).
  const weighty = inp.mode === 'strict' ? Weight.trusted : Weight.seasoned;
  const trustedGroups = groups.filter((g) => g.top >= weighty).length;
  // [V15] A suspect's vote is in limbo until its accusation is carried out or undone: counted, it let two
  // seasoned sleepers tie one honest volunteer whose fellows they had accused, and fail the task.
  const counted = inp.isSuspect ? inp.votes.filter((v) => !inp.isSuspect!(v.identity)).length : inp.votes.length;
  if ((trustedGroups >= 2 && counted >= inp.maxReplicas) || inp.votes.length >= inp.maxReplicas * 3) {
    verdict.decision = { kind: 'inconclusive', groups };
    return verdict;
  }
  if (best && !best.ok && groups.length === 1 && !inp.trustedOnline && !inp.jobHasSuccess && enough(best.votes.length, best.networks, inp)) {
    // [V11] Nobody trusted online, no task of the job ever succeeded, and every result of this one is a failure
    // from enough identities and networks: a job whose code always throws, in a new swarm, fails rather than
    // wait for ever. Where other tasks succeed, failures on purpose cannot fail a task this way.
    settle(verdict, best, groups, inp);
    return verdict;
  }
  bootstrap(verdict, groups, inp);
  verdict.decision = { kind: 'more', need: need(groups, verdict, inp), n: inp.mode === 'strict' ? Math.max(1, inp.quorum - (best?.votes.length ?? 0)) : 1 };
  return verdict;
}

/** The least trust the next replica must bring: what could move the task towards a settled result. */
function need(groups: Group[], verdict: Verdict, inp: QuorumInput): number {
  const top = Math.max(0, ...groups.map((g) => g.top));
  const creditedAt = (level: Credit) => (verdict.credited.length > 0 && verdict.creditLevel === level) || inp.votes.some((v) => v.credit === level);
  const credited = creditedAt('trust') || creditedAt('seasoning');
  if (inp.mode === 'strict') {
    // Untrusted replicas may fill the quorum, but the one that completes it must bring the trust vote.
    const most = Math.max(0, ...groups.map((g) => g.votes.length));
    return top === 0 && most >= inp.quorum - 1 && (inp.trustedOnline || credited) ? Weight.trusted : Weight.untrusted;
  }
  if (top >= Weight.seasoned) return Weight.trusted; // a trusted replica confirms or contradicts it
  // Trusted votes settle nothing among themselves: a seasoned one, unless none exists yet and the trusted
  // still bootstrap their seasoning on this task.
  if (top === Weight.trusted) return inp.seasonedOnline || creditedAt('seasoning') ? Weight.seasoned : Weight.trusted;
  return creditedAt('trust') ? Weight.trusted : Weight.untrusted;
}

/** [V9] adaptive: final trust with a seasoned supporter, more than any other answer has. */
function adaptiveWinner(groups: Group[], inp: QuorumInput): Group | undefined {
  const [best, second] = groups;
  return best && trustedQuorum(best, inp) && best.trust > (second?.trust ?? 0) ? best : undefined;
}

/** [V8] strict: `quorum` agreeing identities, at least one trusted, more supporters than any other answer. */
function strictWinner(groups: Group[], inp: QuorumInput): Group | undefined {
  let best: Group | undefined;
  for (const g of groups) if (trustedQuorum(g, inp) && (!best || g.votes.length > best.votes.length)) best = g;
  if (!best) return undefined;
  return groups.every((g) => g === best || g.votes.length < best!.votes.length) ? best : undefined;
}

/** A final group: who passed a check by it, who is caught, whose failure it contradicts. */
function settle(verdict: Verdict, winner: Group, groups: Group[], inp: QuorumInput): void {
  verdict.decision = { kind: 'final', group: winner, others: groups.filter((g) => g !== winner) };
  for (const v of winner.votes) {
    const own = inp.trustOf(v.identity);
    // [V4] Only evidence that does not come from the volunteer itself is a check; a bootstrap-credited vote
    // of a volunteer not yet seasoned earned its credit once already.
    if (winner.trust - own >= Weight.trusted && !(v.credit !== null && own <= Weight.trusted)) verdict.passed.push(v.identity);
  }
  const framed = winner.ok && trustedQuorum(winner, inp);
  for (const g of groups) {
    if (g === winner) continue;
    for (const v of g.votes) {
      if (!v.ok && winner.ok) verdict.contradicted.push(v.identity);
      else if (v.ok && framed) verdict.caught.push(v.identity);
    }
  }
}

/**
 * [V10] Bootstrap: where no vote of higher trust exists, agreement of `bootstrapQuorum` identities of the top
 * trust present (untrusted ones becoming trusted, trusted ones becoming seasoned), on enough networks and
 * twice any dissent of that trust, earns each a credit; dissenters of that trust start their streak over.
 * Untrusted ones may count trusted (not seasoned) peers among theirs. The result itself still waits for the
 * trust V8/V9 ask.
 */
function bootstrap(verdict: Verdict, groups: Group[], inp: QuorumInput): void {
  const top = Math.max(0, ...groups.map((g) => g.top));
  if (top >= Weight.seasoned || (inp.mode === 'strict' && top > 0)) return;
  const weight = (v: Vote) => inp.trustOf(v.identity);
  if (top === Weight.trusted && credit(verdict, groups, inp, 'seasoning', (v) => weight(v) === Weight.trusted, () => true)) return;
  // Untrusted volunteers earn trust by agreeing with trusted ones not yet seasoned too: else, once some of a
  // small swarm are trusted, the rest could never gather `bootstrapQuorum` untrusted peers on a task, and
  // nobody would ever be seasoned. It still takes that many agreeing identities, none of them seasoned.
  credit(verdict, groups, inp, 'trust', (v) => weight(v) <= Weight.trusted, (v) => weight(v) === Weight.untrusted);
}

/**
 * [V10] One level of bootstrap: `peers` votes agreeing (enough of them, on enough networks, twice any dissent
 * among peers) earn a credit each at `level` for those of them `creditable`; creditable dissenters lose their
 * streak. True when it credited.
 */
function credit(verdict: Verdict, groups: Group[], inp: QuorumInput, level: Exclude<Credit, null>, peer: (v: Vote) => boolean, creditable: (v: Vote) => boolean): boolean {
  // One credit per task per level; a vote credited once (at either level) earns nothing more.
  if (inp.votes.some((v) => v.credit === level)) return false;
  const peers = inp.votes.filter(peer);
  let best: { g: Group; votes: Vote[] } | undefined;
  for (const g of groups) {
    const votes = g.votes.filter(peer);
    if (g.ok && (!best || votes.length > best.votes.length)) best = { g, votes };
  }
  if (!best) return false;
  const networks = new Set(best.votes.map((v) => v.network)).size;
  if (!enough(best.votes.length, networks, inp) || best.votes.length < 2 * (peers.length - best.votes.length)) return false;
  const credited = best.votes.filter((v) => v.credit === null && creditable(v));
  if (credited.length === 0) return false;
  verdict.credited = credited;
  verdict.creditLevel = level;
  for (const g of groups) if (g !== best.g) for (const v of g.votes) if (v.ok && peer(v) && creditable(v)) verdict.bootstrapLosers.push(v.identity);
  return true;
}

/** `bootstrapQuorum` identities, on as many networks as the swarm has, up to that number (V10). */
function enough(identities: number, networks: number, inp: QuorumInput): boolean {
  return identities >= inp.bootstrapQuorum && networks >= Math.min(inp.bootstrapQuorum, inp.bootstrapNetworks);
}
