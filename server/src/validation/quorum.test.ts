import { describe, expect, it } from 'vitest';
import { comparator, FAILED_HASH, outputHash } from './compare.ts';
import { decide, Weight, type QuorumInput, type Vote } from './quorum.ts';

let n = 0;
/** A vote by `identity` for `output` (or a failure when output is undefined). */
function vote(identity: string, output?: unknown, network = `net-${identity}`): Vote {
  n++;
  return output === undefined
    ? { attempt: `a${n}`, identity, network, ok: false, output: null, error: 'boom', hash: FAILED_HASH, credit: null }
    : { attempt: `a${n}`, identity, network, ok: true, output, error: null, hash: outputHash(output), credit: null };
}

/** Weights by name: u* untrusted, t* trusted, s* seasoned, v* vouched. */
const weight = (id: string) => ({ u: Weight.untrusted, t: Weight.trusted, s: Weight.seasoned, v: Weight.vouched })[id[0] as 'u'] ?? 0;

function input(votes: Vote[], overrides: Partial<QuorumInput> = {}): QuorumInput {
  return {
    mode: 'adaptive',
    quorum: 2,
    maxReplicas: 6,
    votes,
    trustOf: weight,
    comparator: comparator('exact'),
    spotCheck: false,
    trustedOnline: true,
    seasonedOnline: true,
    bootstrapQuorum: 3,
    bootstrapNetworks: 10,
    jobHasSuccess: true,
    ...overrides,
  };
}

describe('quorum (SPEC.md V7-V12)', () => {
  it('[V7] exact compares canonical JSON (key order does not matter); numeric allows the tolerance; failures are one group', () => {
    const a = vote('s1', { x: 1, y: [0.1 + 0.2] });
    const b = vote('t1', { y: [0.3], x: 1 });
    expect(decide(input([a, b])).decision.kind).toBe('more'); // 0.1 + 0.2 !== 0.3 exactly
    const near = decide(input([a, b], { comparator: comparator({ numeric: { abs: 1e-9 } }) }));
    expect(near.decision).toMatchObject({ kind: 'final' });
    // Relative tolerance: within rel of the larger magnitude, whatever the scale.
    const rel = comparator({ numeric: { rel: 1e-6 } });
    expect(decide(input([vote('s1', [1e9, 2]), vote('t1', [1e9 + 500, 2])], { comparator: rel })).decision.kind).toBe('final');
    expect(decide(input([vote('s1', [1e9, 2]), vote('t1', [1e9 + 5000, 2])], { comparator: rel })).decision.kind).toBe('more');
    expect(decide(input([vote('s1', 1e-9), vote('t1', 2e-9)], { comparator: rel })).decision.kind).toBe('more');
    const reordered = decide(input([vote('s1', { p: 1, q: 2 }), vote('t1', { q: 2, p: 1 })]));
    expect(reordered.decision.kind).toBe('final');
    expect(decide(input([vote('s1'), vote('s2')])).decision).toMatchObject({ kind: 'final', group: { ok: false } });
  });

  it('[V9] adaptive: a seasoned result with one more trusted agreeing is final; both pass a check', () => {
    const v = decide(input([vote('s1', 4), vote('t1', 4)]));
    expect(v.decision).toMatchObject({ kind: 'final', group: { output: 4 } });
    expect(v.passed.sort()).toEqual(['s1', 't1']);
  });

  it('[V9] adaptive: a seasoned result alone stands provisionally, unless a spot check is drawn', () => {
    expect(decide(input([vote('s1', 4)])).decision).toMatchObject({ kind: 'provisional', on: 's1' });
    expect(decide(input([vote('s1', 4)], { spotCheck: true })).decision).toEqual({ kind: 'more', need: Weight.trusted, n: 1 });
    expect(decide(input([vote('s1', 4)])).passed).toEqual([]); // its own word is no check of itself
  });

  it('[V9] lately trusted volunteers settle nothing among themselves (sleepers are trusted together), however many', () => {
    const v = decide(input([vote('t1', -5), vote('t2', -5), vote('t3', -5), vote('t4', -5)]));
    expect(v.decision).toMatchObject({ kind: 'more', need: Weight.seasoned });
  });

  it('[V9] an untrusted result needs trust from others; with a seasoned supporter it is final and the untrusted one passes', () => {
    expect(decide(input([vote('u1', 4)])).decision).toEqual({ kind: 'more', need: Weight.untrusted, n: 1 });
    const v = decide(input([vote('u1', 4), vote('s1', 4), vote('t1', 4)]));
    expect(v.decision.kind).toBe('final');
    expect(v.passed.sort()).toEqual(['s1', 't1', 'u1']);
  });

  it('[V5] those whose result disagrees with a trusted quorum are caught; a failure is only contradicted', () => {
    const v = decide(input([vote('u1', -1), vote('t9', -1), vote('s1', 4), vote('s2', 4), vote('u2')]));
    expect(v.decision).toMatchObject({ kind: 'final', group: { output: 4 } });
    expect(v.caught.sort()).toEqual(['t9', 'u1']);
    expect(v.contradicted).toEqual(['u2']);
  });

  it('[V5] a trusted dissent is outvoted only by more trust, never framed by equal trust', () => {
    expect(decide(input([vote('s1', 4), vote('s2', -1)])).decision).toEqual({ kind: 'more', need: Weight.trusted, n: 1 });
    const v = decide(input([vote('s1', 4), vote('s2', -1), vote('s3', 4)]));
    expect(v.decision).toMatchObject({ kind: 'final', group: { output: 4 } });
    expect(v.caught).toEqual(['s2']);
  });

  it('[V8] strict: quorum agreeing identities with one trusted; untrusted ones fill it, a trusted one completes it', () => {
    const strict = { mode: 'strict' as const };
    expect(decide(input([vote('u1', 4)], strict)).decision).toEqual({ kind: 'more', need: Weight.trusted, n: 1 });
    expect(decide(input([vote('u1', 4), vote('u2', 4)], strict)).decision).toMatchObject({ kind: 'more', need: Weight.trusted });
    expect(decide(input([vote('u1', 4), vote('t1', 4)], strict)).decision).toMatchObject({ kind: 'final' });
    expect(decide(input([vote('t1', 4)], { ...strict, quorum: 3 })).decision).toEqual({ kind: 'more', need: Weight.untrusted, n: 2 });
    // A quorum of colluders with one trusted among them settles it: that is what strict promises, no more.
    expect(decide(input([vote('u1', -1), vote('t1', -1), vote('s1', 4)], strict)).decision).toMatchObject({ kind: 'final', group: { output: -1 } });
  });

  it('[V10] bootstrap: three untrusted agreeing on three networks earn a credit each; the result still waits for trust', () => {
    const v = decide(input([vote('u1', 4), vote('u2', 4), vote('u3', 4)], { trustedOnline: false, seasonedOnline: false }));
    expect(v.credited.map((x) => x.identity)).toEqual(['u1', 'u2', 'u3']);
    expect(v.decision).toEqual({ kind: 'more', need: Weight.trusted, n: 1 });
  });

  it('[V10] bootstrap needs twice any dissent, and distinct networks where the swarm has them', () => {
    const split = [vote('u1', 4), vote('u2', 4), vote('u3', 4), vote('u4', -1), vote('u5', -1)];
    expect(decide(input(split)).credited).toEqual([]);
    const outvoted = decide(input([...split.slice(0, 4), vote('u6', 4), vote('u7', 4)]));
    expect(outvoted.credited).toHaveLength(5);
    expect(outvoted.bootstrapLosers).toEqual(['u4']);
    const oneNetwork = [vote('u1', 4, 'lan'), vote('u2', 4, 'lan'), vote('u3', 4, 'lan')];
    expect(decide(input(oneNetwork)).credited).toEqual([]);
    expect(decide(input(oneNetwork, { bootstrapNetworks: 1 })).credited).toHaveLength(3);
  });

  it('[V10] trusted ones bootstrap their seasoning the same way when no seasoned volunteer voted', () => {
    const v = decide(input([vote('t1', 4), vote('t2', 4), vote('t3', 4), vote('u1', -1)], { seasonedOnline: false }));
    expect(v.credited.map((x) => x.identity)).toEqual(['t1', 't2', 't3']);
    expect(v.decision).toMatchObject({ kind: 'more', need: Weight.seasoned });
  });

  it('[V10] an untrusted volunteer earns trust agreeing with trusted ones not yet seasoned: three identities, none seasoned', () => {
    // Two of a swarm of four trusted: the other two can never gather three untrusted on one task.
    const v = decide(input([vote('t1', 4), vote('t2', 4), vote('u1', 4), vote('u2', -1)], { seasonedOnline: false }));
    expect(v.credited.map((x) => x.identity)).toEqual(['u1']);
    expect(v.creditLevel).toBe('trust');
    expect(v.bootstrapLosers).toEqual(['u2']);
    // Still three agreeing identities, and twice the dissent; a seasoned vote settles it instead.
    expect(decide(input([vote('t1', 4), vote('u1', 4)], { seasonedOnline: false })).credited).toEqual([]);
    expect(decide(input([vote('t1', 4), vote('t2', 4), vote('u1', 4), vote('u2', -1), vote('u3', -1)], { seasonedOnline: false })).credited).toEqual([]);
    expect(decide(input([vote('s1', 4), vote('t2', 4), vote('u1', 4)])).credited).toEqual([]);
  });

  it('[V11] failures from two trusted settle a task as failed; untrusted ones alone never do while someone trusted is online', () => {
    expect(decide(input([vote('s1'), vote('t1')])).decision).toMatchObject({ kind: 'final', group: { ok: false } });
    expect(decide(input([vote('u1'), vote('u2'), vote('u3'), vote('u4')])).decision.kind).toBe('more');
    // Nobody trusted at all: enough identities on enough networks failing it, and it fails rather than wait for ever.
    expect(decide(input([vote('u1'), vote('u2'), vote('u3')], { trustedOnline: false, seasonedOnline: false, jobHasSuccess: false })).decision).toMatchObject({ kind: 'final', group: { ok: false } });
    // Where other tasks of the job succeed, failures alone prove nothing: failers cannot fail it this way.
    expect(decide(input([vote('u1'), vote('u2'), vote('u3')], { trustedOnline: false, seasonedOnline: false })).decision.kind).toBe('more');
  });

  it('[V12] inconclusive once seasoned volunteers disagree with maxReplicas results, naming the groups; untrusted dissent only waits', () => {
    const v = decide(input([vote('s1', 1), vote('s2', 2), vote('s3', 3), vote('s4', 4), vote('s5', 5), vote('s6', 6)]));
    expect(v.decision).toMatchObject({ kind: 'inconclusive' });
    const untrusted = Array.from({ length: 17 }, (_, k) => vote(`u${k}`, k));
    expect(decide(input(untrusted)).decision.kind).toBe('more');
    expect(decide(input([...untrusted, vote('u99', 99)])).decision.kind).toBe('inconclusive');
  });

  it('[V12][V15] suspects\' votes weigh nothing and do not count toward maxReplicas: the task asks for a trusted replica instead of failing', () => {
    // The trace of a late-sleeper seed: four honest seasoned votes (three of them suspect, accused by the
    // sleepers' held decisions) against two seasoned sleepers (one suspect): 2 against 2 that weigh.
    const votes = [vote('s1', 4), vote('s2', -5), vote('s3', 4), vote('s4', 4), vote('s5', -5), vote('s6', 4)];
    const suspects = new Set(['s1', 's2', 's4', 's6']);
    const trustOf = (id: string) => (suspects.has(id) ? 0 : weight(id));
    const v = decide(input(votes, { trustOf, isSuspect: (id) => suspects.has(id) }));
    expect(v.decision).toEqual({ kind: 'more', need: Weight.trusted, n: 1 });
    // Counted as before, the same votes failed the task.
    expect(decide(input(votes, { trustOf })).decision.kind).toBe('inconclusive');
    // The hard cap still holds: three times maxReplicas votes, whoever cast them.
    const many = Array.from({ length: 18 }, (_, k) => vote(`s${k}`, k % 2));
    expect(decide(input(many, { isSuspect: () => true, trustOf: () => 0 })).decision.kind).toBe('inconclusive');
  });

  it('[V7] the operator\'s vouched machine settles a task alone', () => {
    const v = decide(input([vote('v1', 4), vote('u1', -1)]));
    expect(v.decision).toMatchObject({ kind: 'final', group: { output: 4 } });
    expect(v.caught).toEqual(['u1']);
  });
});
