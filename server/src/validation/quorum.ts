/**
 * The quorum rules (SPEC.md V7-V12) as one pure function: given a task's votes and who is trusted, decide
 * whether the task is final, provisionally accepted, needs more replicas (and from whom), or is
 * inconclusive; and who passed or failed a check by it. No clock, no I/O: validation.ts applies the verdict.
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
  /** This vote already earned its identity a bootstrap check (V10). */
  credited: boolean;
}

/** Votes for one answer (or for "failed"). */
export interface Group {
  ok: boolean;
  hash: string;
  output: unknown;
  votes: Vote[];
  /** Trust votes of its supporters (V7). */
  trust: number;
  networks: number;
}

export interface QuorumInput {
  mode: 'adaptive' | 'strict';
  quorum: number;
  maxReplicas: number;
  votes: readonly Vote[];
  /** Trust votes of an identity: 0 untrusted, 1 trusted, 2 vouched (banned identities' votes are not passed in). */
  trustOf(identity: string): number;
  comparator: Comparator;
  /** adaptive: a spot check was drawn for the one trusted result that could stand alone (V9). */
  spotCheck: boolean;
  /** adaptive: the trusted result standing alone has passed its probation (V9): it is final. */
  probationOver: boolean;
  /** Someone with a trust vote is connected, so a replica can be asked of a trusted volunteer. */
  trustedOnline: boolean;
  /** Agreeing untrusted identities that earn a bootstrap check (V10), and how many networks they must span. */
  bootstrapQuorum: number;
  bootstrapNetworks: number;
}

export type Decision =
  | { kind: 'final'; group: Group; others: Group[] }
  | { kind: 'provisional'; group: Group; on: string }
  | { kind: 'more'; trustedOnly: boolean; n: number }
  | { kind: 'inconclusive'; groups: Group[] };

export interface Verdict {
  decision: Decision;
  /** Identities that passed a check by this task (V4). */
  passed: string[];
  /** Identities caught: their result disagrees with a trusted quorum (V5). */
  caught: string[];
  /** Identities whose failure a final result contradicts (V11). */
  contradicted: string[];
  /** Votes that earned a bootstrap check now (V10), and identities that lost a bootstrap vote. */
  credited: Vote[];
  bootstrapLosers: string[];
}

/** [V7] Group votes by the job's comparator; every failure joins the one "failed" group. */
export function groupVotes(votes: readonly Vote[], cmp: Comparator, trustOf: (id: string) => number): Group[] {
  const groups: Group[] = [];
  for (const v of votes) {
    const g = groups.find((x) => x.ok === v.ok && (!v.ok || cmp.same(x.output, v.output, x.hash, v.hash)));
    if (g) g.votes.push(v);
    else groups.push({ ok: v.ok, hash: v.hash, output: v.output, votes: [v], trust: 0, networks: 0 });
  }
  for (const g of groups) {
    g.trust = g.votes.reduce((t, v) => t + trustOf(v.identity), 0);
    g.networks = new Set(g.votes.map((v) => v.network)).size;
  }
  // Most trust first, then most supporters.
  return groups.sort((a, b) => b.trust - a.trust || b.votes.length - a.votes.length);
}

/** A group no honest majority can be framed by: two trust votes, or (strict) a full quorum with one (V5). */
function trustedQuorum(g: Group, inp: QuorumInput): boolean {
  return g.trust >= 2 || (inp.mode === 'strict' && g.votes.length >= inp.quorum && g.trust >= 1);
}

export function decide(inp: QuorumInput): Verdict {
  const groups = groupVotes(inp.votes, inp.comparator, inp.trustOf);
  const verdict: Verdict = { decision: { kind: 'more', trustedOnly: false, n: 1 }, passed: [], caught: [], contradicted: [], credited: [], bootstrapLosers: [] };
  const winner = inp.mode === 'strict' ? strictWinner(groups, inp) : adaptiveWinner(groups, inp);
  if (winner) {
    settle(verdict, winner, groups, inp);
    return verdict;
  }
  const best = groups[0];
  if (inp.mode === 'adaptive' && best && groups.length === 1 && best.ok && best.trust === 1 && !inp.spotCheck) {
    // [V9] One trusted result, no disagreement: accepted provisionally, final once its volunteer passes probation.
    const on = best.votes.find((v) => inp.trustOf(v.identity) > 0)!.identity;
    verdict.decision = inp.probationOver ? { kind: 'final', group: best, others: [] } : { kind: 'provisional', group: best, on };
    if (inp.probationOver) settle(verdict, best, groups, inp);
    return verdict;
  }
  // [V12] Untrusted failures cost a saboteur nothing, so they do not use up the replicas a task may have.
  const counted = inp.votes.filter((v) => v.ok || inp.trustOf(v.identity) > 0).length;
  if (counted >= inp.maxReplicas || inp.votes.length >= inp.maxReplicas * 3) {
    verdict.decision = { kind: 'inconclusive', groups };
    return verdict;
  }
  if (best && !best.ok && groups.length === 1 && !inp.trustedOnline && agreeOnEnoughNetworks(best, inp)) {
    // [V11] Nobody trusted online, and every result is a failure from enough identities and networks: the
    // task fails rather than wait for ever (a job whose code always throws, in a new swarm).
    settle(verdict, best, groups, inp);
    return verdict;
  }
  bootstrap(verdict, groups, inp);
  const anyTrust = groups.some((g) => g.trust > 0);
  const anyCredited = inp.votes.some((v) => v.credited);
  // A vote that could settle the task must come from someone trusted; before anyone is, untrusted agreement
  // still earns bootstrap checks (V10), and once a task has earned one, more untrusted votes add nothing.
  const wantTrust = anyCredited || verdict.credited.length > 0 || inp.trustedOnline;
  // strict: untrusted replicas may fill the quorum, but the one that completes it must bring the trust vote.
  const trustedOnly = inp.mode === 'strict' ? !anyTrust && wantTrust && (best?.votes.length ?? 0) >= inp.quorum - 1 : anyTrust || wantTrust;
  const n = inp.mode === 'strict' ? Math.max(1, inp.quorum - (best?.votes.length ?? 0)) : 1;
  verdict.decision = { kind: 'more', trustedOnly, n };
  return verdict;
}

/** [V9] adaptive: two trust votes, more than any other answer has. */
function adaptiveWinner(groups: Group[], _inp: QuorumInput): Group | undefined {
  const [best, second] = groups;
  return best && best.trust >= 2 && best.trust > (second?.trust ?? 0) ? best : undefined;
}

/** [V8] strict: `quorum` agreeing identities, at least one trusted, more supporters than any other answer. */
function strictWinner(groups: Group[], inp: QuorumInput): Group | undefined {
  let best: Group | undefined;
  for (const g of groups) if (g.votes.length >= inp.quorum && g.trust >= 1 && (!best || g.votes.length > best.votes.length)) best = g;
  if (!best) return undefined;
  return groups.every((g) => g === best || g.votes.length < best!.votes.length) ? best : undefined;
}

/** A final group: who passed a check by it, who is caught, whose failure it contradicts. */
function settle(verdict: Verdict, winner: Group, groups: Group[], inp: QuorumInput): void {
  verdict.decision = { kind: 'final', group: winner, others: groups.filter((g) => g !== winner) };
  for (const v of winner.votes) {
    // [V4] Only evidence that does not come from the volunteer itself is a check; a bootstrap-credited vote
    // was counted once already.
    if (winner.trust - inp.trustOf(v.identity) >= 1 && !(v.credited && inp.trustOf(v.identity) === 0)) verdict.passed.push(v.identity);
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

/** [V10] Agreement of `bootstrapQuorum` untrusted identities on enough networks, twice any dissent. */
function bootstrap(verdict: Verdict, groups: Group[], inp: QuorumInput): void {
  if (groups.some((g) => g.trust > 0) || inp.votes.some((v) => v.credited)) return;
  const best = [...groups].sort((a, b) => b.votes.length - a.votes.length)[0];
  if (!best || !best.ok || !agreeOnEnoughNetworks(best, inp)) return;
  const dissent = inp.votes.length - best.votes.length;
  if (best.votes.length < 2 * dissent) return;
  verdict.credited = best.votes.slice();
  for (const g of groups) if (g !== best) for (const v of g.votes) if (v.ok) verdict.bootstrapLosers.push(v.identity);
}

/** `bootstrapQuorum` identities, on as many networks as the swarm has up to that number (V10). */
function agreeOnEnoughNetworks(g: Group, inp: QuorumInput): boolean {
  return g.votes.length >= inp.bootstrapQuorum && g.networks >= Math.min(inp.bootstrapQuorum, inp.bootstrapNetworks);
}
