import { describe, expect, it } from 'vitest';
import type { ResultLine } from '@barnraise/shared';
import { networkOf } from '../../../server/src/validation/network.ts';
import { aggregate, assignRoles, parseReplay, behaviorOf, loopbackAddress, volunteerOf, Role, SCENARIOS, scoreResults, wakesAt, type SeedRun } from './validation-scenarios.ts';

describe('assignRoles', () => {
  it('makes exactly the fraction adversarial, the same for a seed and different across seeds', () => {
    const a = assignRoles(100, 0.2, 1, Role.colluder);
    expect(a.filter((r) => r === Role.colluder)).toHaveLength(20);
    expect(a.filter((r) => r === Role.honest)).toHaveLength(80);
    expect(assignRoles(100, 0.2, 1, Role.colluder)).toEqual(a);
    expect(assignRoles(100, 0.2, 2, Role.colluder)).not.toEqual(a);
  });
});

describe('loopbackAddress', () => {
  it('gives every volunteer its own /24 as the master computes networks', () => {
    const nets = new Set(Array.from({ length: 600 }, (_, k) => networkOf(loopbackAddress(k))));
    expect(nets.size).toBe(600);
    expect(loopbackAddress(0)).toBe('127.10.0.1');
    expect(loopbackAddress(257)).toBe('127.11.1.1');
    expect(() => loopbackAddress(-1)).toThrow(RangeError);
  });

  it('volunteerOf reads the volunteer back from the network the master records', () => {
    for (const k of [0, 7, 255, 256, 599]) expect(volunteerOf(networkOf(loopbackAddress(k)))).toBe(k);
    expect(volunteerOf('10.0.0.0/24')).toBe(-1);
  });
});

describe('behaviours', () => {
  const run = (role: Role, input: number, trusted = false) => behaviorOf(role)({ job: 'j', index: input, input, trusted, seasoned: trusted, random: Math.random });

  it('honest squares; colluders agree on one wrong answer; failers fail', () => {
    expect(run(Role.honest, 7)).toEqual({ ok: true, output: 49 });
    expect(run(Role.colluder, 7)).toEqual(run(Role.colluder, 7));
    expect(run(Role.colluder, 7)).not.toEqual({ ok: true, output: 49 });
    expect(run(Role.failer, 7).ok).toBe(false);
  });

  it('partial cheaters lie on about their rate of inputs, the same inputs each', () => {
    const lies = (role: Role) => Array.from({ length: 10_000 }, (_, n) => n).filter((n) => (run(role, n) as { output: number }).output !== n * n);
    expect(lies(Role.partial30).length / 10_000).toBeCloseTo(0.3, 1);
    expect(lies(Role.partial2).length / 10_000).toBeCloseTo(0.02, 2);
    expect(lies(Role.partial2)).toEqual(lies(Role.partial2));
  });

  it('sleepers lie once awake, and wake at trusted (patient ones at seasoned)', () => {
    expect(run(Role.sleeper, 3)).toEqual({ ok: true, output: 9 });
    expect(run(Role.sleeper, 3, true)).not.toEqual({ ok: true, output: 9 });
    expect(wakesAt(Role.sleeper)!.has('trusted')).toBe(true);
    expect(wakesAt(Role.patientSleeper)!.has('trusted')).toBe(false);
    expect(wakesAt(Role.patientSleeper)!.has('seasoned')).toBe(true);
    expect(wakesAt(Role.honest)).toBeNull();
  });

  it('scenarios have unique keys', () => {
    expect(new Set(SCENARIOS.map((s) => s.key)).size).toBe(SCENARIOS.length);
  });
});

describe('scoreResults', () => {
  it('counts wrong, failed, missing and duplicated indices against n²', () => {
    const lines: ResultLine[] = [
      { index: 0, status: 'done', output: 0 },
      { index: 1, status: 'done', output: 1 },
      { index: 2, status: 'done', output: -3 },
      { index: 3, status: 'failed', error: 'x' },
      { index: 3, status: 'done', output: 9 },
      { index: 9, status: 'done', output: 81 },
    ];
    expect(scoreResults(lines, 5)).toEqual({ lines: 6, wrong: 1, failed: 1, missing: 1, duplicates: 2, examples: [2, 3] });
  });

  it('scores a clean stream as clean', () => {
    const lines: ResultLine[] = Array.from({ length: 100 }, (_, i) => ({ index: i, status: 'done' as const, output: i * i }));
    expect(scoreResults(lines, 100)).toMatchObject({ wrong: 0, failed: 0, missing: 0, duplicates: 0 });
  });
});

describe('aggregate', () => {
  const run = (seed: number, wrong: number, replicas: number, bans: number, ms: number, finished = true): SeedRun => ({
    seed,
    finished,
    score: { lines: 10, wrong, failed: 0, missing: finished ? 0 : 7, duplicates: 0, examples: [] },
    replicasPerTask: replicas,
    bans,
    honestBanned: 0,
    ms,
  });

  it('adds up what must be zero and spreads what varies', () => {
    const a = aggregate([run(1, 0, 1.5, 20, 1000), run(2, 3, 2.5, 22, 3000)]);
    expect(a).toMatchObject({ seeds: 2, wrong: 3, seedsWithWrong: 1, failed: 0, broken: 0, replicas: { mean: 2, max: 2.5 }, bans: { mean: 21, min: 20, max: 22 }, ms: { mean: 2000, max: 3000 } });
    expect(() => aggregate([])).toThrow(RangeError);
  });

  it('lists unfinished seeds apart, without counting their missing results as broken', () => {
    expect(aggregate([run(1, 0, 1.4, 0, 900), run(4, 0, 1.4, 0, 15_000, false)])).toMatchObject({ broken: 0, unfinished: [4] });
  });
});

describe('parseReplay', () => {
  it('reads scenarios with a seed, a range or a list, and defaults', () => {
    expect([...parseReplay('sleepers:3, sybils:1-3,colluding:2+5,failers', [1, 2])]).toEqual([
      ['sleepers', [3]],
      ['sybils', [1, 2, 3]],
      ['colluding', [2, 5]],
      ['failers', [1, 2]],
    ]);
  });

  it('refuses an unknown scenario or bad seeds', () => {
    expect(() => parseReplay('nope', [1])).toThrow(/unknown validation scenario/);
    expect(() => parseReplay('sleepers:x', [1])).toThrow(/bad seeds/);
  });
});
