import { describe, expect, it } from 'vitest';
import { FakeClock, leaseCore, makeJob, volunteer } from '../testing/doubles.ts';
import { claim } from './lease.ts';

describe('fair share (SPEC.md F)', () => {
  it('[F1] a higher-priority job is served before a lower one', () => {
    const low = makeJob({ total: 3, priority: 0 });
    const high = makeJob({ total: 2, priority: 5 });
    const core = leaseCore(new FakeClock(), low, high);
    const got = claim(core, volunteer(1, 4));
    expect(got.map((a) => a.job.id)).toEqual([high.id, high.id, low.id, low.id]);
  });

  it('[F2] jobs of the same priority take turns, so a big job cannot starve a small one', () => {
    const big = makeJob({ total: 1000 });
    const small = makeJob({ total: 2 });
    const other = makeJob({ total: 3 });
    const core = leaseCore(new FakeClock(), big, small, other);
    const got = claim(core, volunteer(1, 8));
    expect(got.map((a) => a.job.id)).toEqual([big.id, small.id, other.id, big.id, small.id, other.id, big.id, other.id]);
  });

  it('[F2] a job added later joins the rotation at once', () => {
    const first = makeJob({ total: 10 });
    const core = leaseCore(new FakeClock(), first);
    const v = volunteer(1, 2);
    claim(core, v);
    const late = makeJob({ total: 10 });
    core.queue.add(late);
    v.credits = 4;
    const ids = claim(core, v).map((a) => a.job.id);
    expect(ids.filter((id) => id === late.id)).toHaveLength(2);
  });
});
