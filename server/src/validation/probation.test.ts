/** The probation index (probation.ts): which results wait on whom, and which of them want a known answer only. */
import { describe, expect, it } from 'vitest';
import type { JobValidation } from './job.ts';
import { Probation } from './probation.ts';

// The index only keys by the job object: no job is run here.
const jobA = {} as JobValidation;
const jobB = {} as JobValidation;

describe('Probation (SPEC.md V9)', () => {
  it('[V9] a wait that wants a known answer only leaves the set other checks visit, and stays waiting', () => {
    const p = new Probation();
    for (const i of [1, 2, 3]) p.add('x', jobA, i);
    p.add('x', jobB, 9);
    p.wantKnown('x', jobA, 2);
    expect([...(p.indices('x', jobA) ?? [])]).toEqual([1, 3]);
    expect([...(p.wantingKnown('x', jobA) ?? [])]).toEqual([2]);
    // Everything that asks what waits on x still sees it.
    expect(p.has('x', jobA)).toBe(true);
    expect(p.jobs('x')).toEqual([jobA, jobB]);
    expect(new Map(p.of('x')).get(jobA)!.sort()).toEqual([1, 2, 3]);
  });

  it('[V9] remove, forget and take reach both sets', () => {
    const p = new Probation();
    p.add('x', jobA, 1);
    p.add('x', jobA, 2);
    p.wantKnown('x', jobA, 2);
    p.remove('x', jobA, 2);
    expect(p.wantingKnown('x', jobA)).toBeUndefined();
    p.wantKnown('x', jobA, 1);
    expect(p.has('x', jobA)).toBe(true);
    p.forget(jobA);
    expect(p.has('x', jobA)).toBe(false);
    expect(p.jobs('x')).toEqual([]);

    p.add('y', jobA, 5);
    p.add('y', jobA, 6);
    p.wantKnown('y', jobA, 6);
    expect(new Map(p.take('y')).get(jobA)!.sort()).toEqual([5, 6]);
    expect(p.has('y', jobA)).toBe(false);
    expect(p.of('y')).toEqual([]);
  });
});
