import { describe, expect, it } from 'vitest';
import { KEEP_WAITING_MS, leasesKept, leasesPerThread, MAX_PREFETCH, MIN_PREFETCH } from './prefetch.ts';

describe('[P3] prefetch', () => {
  it('asks for about 50 ms of work a thread, 2 to 256 leases', () => {
    expect(leasesPerThread(undefined)).toBe(MIN_PREFETCH);
    expect(leasesPerThread(1)).toBe(50);
    expect(leasesPerThread(0.001)).toBe(MAX_PREFETCH);
    expect(leasesPerThread(0.1), '0.1 ms tasks: 500 would cover 50 ms, 256 at most').toBe(256);
    expect(leasesPerThread(5000)).toBe(MIN_PREFETCH);
  });

  it('over capacity, keeps the leases its threads start within a second; at no capacity, none', () => {
    expect(leasesKept(6, 1, 8.8), '8.8 ms tasks: 113 start within a second').toBe(Math.floor(KEEP_WAITING_MS / 8.8));
    expect(leasesKept(6, 2, 8.8)).toBe(2 * 113);
    expect(leasesKept(2, 1, 1007), 'a second or more a task: only capacity').toBe(2);
    expect(leasesKept(4, 2, undefined), 'length unknown: only capacity').toBe(4);
    expect(leasesKept(0, 2, 1), 'hidden and paused, or stopped: nothing').toBe(0);
  });
});
