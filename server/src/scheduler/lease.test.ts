import { describe, expect, it } from 'vitest';
import { PYTHON_MARKER } from '@barnraise/shared';
import { FakeClock, leaseCore, makeJob, volunteer } from '../testing/doubles.ts';
import { ASSET_BYTES_PER_MS, cancel, claim, complete, expire, fail, lose, release } from './lease.ts';
import { TaskState } from './state.ts';

describe('lease transitions (SPEC.md L, T, E, J)', () => {
  it('[L1] a claim leases at most the credits, each lease a new attempt with its own id', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 5 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 3);
    const got = claim(core, v);
    expect(got.map((a) => a.index)).toEqual([0, 1, 2]);
    expect(new Set(got.map((a) => a.id)).size).toBe(3);
    expect(v.credits).toBe(0);
    expect(job.counts).toEqual({ queued: 2, leased: 3, done: 0, failed: 0 });
    expect(job.status).toBe('running');
    expect(claim(core, v)).toEqual([]);
  });

  it('[A5][L4] attempts of a job with assets, leased while a volunteer may still be fetching them, get the fetch\'s time on top of their deadline', () => {
    const clock = new FakeClock();
    const bytes = 30 * 1024 * 1024;
    const allowance = bytes / ASSET_BYTES_PER_MS;
    const job = makeJob({ total: 4, timeoutMs: 1000, assets: [{ name: 'data', sha256: 'a'.repeat(64), size: bytes }] });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 1);
    const [first] = claim(core, v);
    expect(first!.deadline - clock.now()).toBe(1000 + core.graceMs + allowance);
    // The job frame went with that lease; 10 s later the fetch may still be going: the rest of its time.
    v.jobsSent.set(job.id, clock.now());
    clock.advance(10_000);
    v.credits = 1;
    const [second] = claim(core, v);
    expect(second!.deadline - clock.now()).toBe(2 * 1000 + core.graceMs + allowance - 10_000);
    // Once that time is past, the deadline is the usual one.
    clock.advance(allowance);
    for (const a of [first!, second!]) expect(complete(core, v, a.id, 'ok')).toBe('accepted');
    v.credits = 1;
    const [third] = claim(core, v);
    expect(third!.deadline - clock.now()).toBe(1000 + core.graceMs);
    // A job without assets never has the allowance.
    const plainCore = leaseCore(clock, makeJob({ total: 1, timeoutMs: 1000 }));
    const [plain] = claim(plainCore, volunteer(1, 1));
    expect(plain!.deadline - clock.now()).toBe(1000 + plainCore.graceMs);
  });

  it('[L2] a result for a live attempt of the reporting volunteer finishes the task', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 1 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 1);
    const [a] = claim(core, v);
    expect(complete(core, v, a!.id, 'out')).toBe('accepted');
    expect(job.state[0]).toBe(TaskState.done);
    expect(core.journal.finishedLines).toEqual([{ index: 0, status: 'done', output: 'out' }]);
    // Nothing of it is left here; the store says when the job is complete (K5).
    expect(job.counts).toMatchObject({ queued: 0, leased: 0 });
  });

  it('[L3] a result for another volunteer\'s attempt is ignored', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 1 });
    const core = leaseCore(clock, job);
    const owner = volunteer(1, 1);
    const thief = volunteer(1, 1);
    const [a] = claim(core, owner);
    expect(complete(core, thief, a!.id, 'forged')).toBe('stale');
    expect(fail(core, thief, a!.id, 'forged')).toBe('stale');
    expect(job.state[0]).toBe(TaskState.leased);
    expect(core.journal.finishedLines).toEqual([]);
  });

  it('[L3][E1] a late result from an expired attempt never overwrites or duplicates the retry\'s result', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 1, timeoutMs: 1000 });
    const core = leaseCore(clock, job);
    const slow = volunteer(1, 1);
    const [first] = claim(core, slow);
    clock.advance(1000 + core.graceMs);
    expect(expire(core).map((a) => a.id)).toEqual([first!.id]);
    const fast = volunteer(1, 1);
    const [second] = claim(core, fast);
    expect(second!.index).toBe(0);
    expect(complete(core, fast, second!.id, 'right')).toBe('accepted');
    expect(complete(core, slow, first!.id, 'late')).toBe('stale');
    expect(core.journal.finishedLines).toEqual([{ index: 0, status: 'done', output: 'right' }]);
    expect(job.counts).toMatchObject({ queued: 0, leased: 0 });
  });

  it('[L4] the deadline is timeoutMs per round of leases ahead on the volunteer\'s threads, plus grace', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 4, timeoutMs: 1000 });
    const core = leaseCore(clock, job);
    const v = volunteer(2, 4);
    const leases = claim(core, v);
    const start = clock.now();
    expect(leases.map((a) => a.deadline - start)).toEqual([1100, 1100, 2100, 2100]);
    clock.advance(1099);
    expect(expire(core)).toEqual([]);
    clock.advance(1);
    expect(expire(core).map((a) => a.index)).toEqual([0, 1]);
    expect(job.failures[0]).toBe(1);
    expect(job.counts.queued).toBe(2);
  });

  it('[L4][Y4] a Python job\'s attempts get one timeoutMs more, for the interpreter\'s start that volunteers bound on its own', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 4, timeoutMs: 1000, code: `${PYTHON_MARKER}\nconst SOURCE = "";` });
    const core = leaseCore(clock, job);
    const start = clock.now();
    expect(claim(core, volunteer(2, 4)).map((a) => a.deadline - start)).toEqual([2100, 2100, 3100, 3100]);
  });

  it('[T2] a task that fails maxAttempts times fails with its last error', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 1, maxAttempts: 3 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 0);
    for (let k = 1; k <= 3; k++) {
      v.credits = 1;
      const [a] = claim(core, v);
      expect(a, `attempt ${k} is leased`).toBeDefined();
      fail(core, v, a!.id, `boom ${k}`);
    }
    expect(job.state[0]).toBe(TaskState.failed);
    expect(core.journal.finishedLines).toEqual([{ index: 0, status: 'failed', error: 'boom 3' }]);
    expect(job.requeues).toBe(2);
    expect(job.counts).toMatchObject({ queued: 0, leased: 0 });
  });

  it('[L5] a lost volunteer\'s leases are requeued at once and leaving is not a failure', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 3 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 3);
    claim(core, v);
    lose(core, v);
    expect(job.counts).toEqual({ queued: 3, leased: 0, done: 0, failed: 0 });
    expect([...job.failures]).toEqual([0, 0, 0]);
    expect([...job.losses]).toEqual([1, 1, 1]);
    expect(core.attempts.size).toBe(0);
  });

  it('[T3] a task that keeps losing its volunteers fails after maxLosses losses instead of looping', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 1, maxLosses: 3 });
    const core = leaseCore(clock, job);
    for (let k = 0; k < 3; k++) {
      const v = volunteer(1, 1);
      expect(claim(core, v)).toHaveLength(1);
      lose(core, v);
    }
    expect(job.state[0]).toBe(TaskState.failed);
    expect(core.journal.finishedLines[0]).toMatchObject({ index: 0, status: 'failed', error: expect.stringMatching(/lost its volunteer 3 times/) });
  });

  it('[L6] released leases are requeued without counting a failure or a loss', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 2 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 2);
    const [a, b] = claim(core, v);
    expect(release(core, v, [b!.id, 'unknown'])).toBe(1);
    expect(job.counts).toEqual({ queued: 1, leased: 1, done: 0, failed: 0 });
    expect(job.failures[1]).toBe(0);
    expect(job.losses[1]).toBe(0);
    expect(complete(core, v, b!.id, 'late')).toBe('stale');
    expect(complete(core, v, a!.id, 'ok')).toBe('accepted');
  });

  it('[J3] cancel stops leasing and ends live attempts; their late results are ignored', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 3 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 1);
    const [a] = claim(core, v);
    expect(cancel(core, job).map((x) => x.id)).toEqual([a!.id]);
    expect(job.status).toBe('cancelled');
    v.credits = 5;
    expect(claim(core, v)).toEqual([]);
    expect(complete(core, v, a!.id, 'late')).toBe('stale');
    expect(core.journal.finishedLines).toEqual([]);
  });

  it('[L1] requeued tasks are leased before fresh ones', () => {
    const clock = new FakeClock();
    const job = makeJob({ total: 4 });
    const core = leaseCore(clock, job);
    const v = volunteer(1, 1);
    const [a0] = claim(core, v);
    fail(core, v, a0!.id, 'x');
    v.credits = 2;
    expect(claim(core, v).map((a) => a.index)).toEqual([0, 1]);
  });
});
