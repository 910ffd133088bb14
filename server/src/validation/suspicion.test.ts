import { describe, expect, it } from 'vitest';
import type { JobValidation } from './job.ts';
import { Suspicion } from './suspicion.ts';

describe('Suspicion (SPEC.md V15)', () => {
  it('[V15] an identity is suspect while any accusation of it stands; what was parked on it comes back once, when the last is over', () => {
    const s = new Suspicion();
    const job = {} as JobValidation;
    s.accuse('x');
    s.accuse('x');
    s.park('x', job, 4);
    s.park('x', job, 9);
    expect(s.isSuspect('x')).toBe(true);
    expect(s.release('x')).toEqual([]);
    expect(s.isSuspect('x')).toBe(true);
    expect(s.release('x')).toEqual([[job, [4, 9]]]);
    expect(s.isSuspect('x')).toBe(false);
    expect(s.release('x')).toEqual([]);
    expect(s.isSuspect('x')).toBe(false);
  });

  it('[V15] a closed job\'s parked decisions are forgotten', () => {
    const s = new Suspicion();
    const [a, b] = [{} as JobValidation, {} as JobValidation];
    s.accuse('x');
    s.park('x', a, 1);
    s.park('x', b, 2);
    s.forget(a);
    expect(s.release('x')).toEqual([[b, [2]]]);
  });
});
