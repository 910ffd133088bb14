/**
 * The Store contract: one suite every backend must pass (SPEC.md D rules). A backend's test file calls
 * `storeContract(name, open)` where `open` gives a fresh, empty store.
 */
import { describe, expect, it } from 'vitest';
import type { JobRecord, Store } from './store.ts';
import { validationContract } from './contract-validation.ts';

let n = 0;
export function jobRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  n++;
  return {
    id: `job-${n}-${Math.random().toString(36).slice(2, 8)}`,
    name: `job ${n}`,
    code: 'export default (x) => x',
    priority: 0,
    timeoutMs: 1000,
    maxAttempts: 3,
    maxLosses: 8,
    total: 3,
    createdAt: 1000 + n,
    status: 'queued',
    done: 0,
    failed: 0,
    requeues: 0,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    it('[D1] an inserted job reads back whole, with its tasks pending', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [{ a: 1 }, 'two', null]);
      expect(await store.getJob(job.id)).toEqual(job);
      const [recovered] = await store.loadUnfinished();
      expect(recovered!.record.id).toBe(job.id);
      expect(recovered!.pending.map((t) => [t.index, t.input])).toEqual([[0, { a: 1 }], [1, 'two'], [2, null]]);
      expect(await store.getJob('missing')).toBeUndefined();
      await store.close();
    });

    it('[D2] a commit applies task results and job progress together', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [1, 2, 3]);
      await store.commit({
        tasks: [
          { kind: 'done', job: job.id, index: 2, output: { y: 3 }, failures: 0, losses: 0 },
          { kind: 'failed', job: job.id, index: 0, error: 'boom', failures: 3, losses: 0 },
          { kind: 'retry', job: job.id, index: 1, failures: 1, losses: 2, error: 'first try' },
        ],
        jobs: [{ id: job.id, status: 'running', done: 1, failed: 1, requeues: 3, startedAt: 5, finishedAt: null }],
        attempts: [],
      });
      expect(await store.readResults(job.id, -1, 10)).toEqual([
        { index: 0, status: 'failed', error: 'boom' },
        { index: 2, status: 'done', output: { y: 3 } },
      ]);
      expect(await store.getJob(job.id)).toMatchObject({ status: 'running', done: 1, failed: 1, requeues: 3, startedAt: 5 });
      const [recovered] = await store.loadUnfinished();
      expect(recovered!.pending).toEqual([{ index: 1, input: 2, failures: 1, losses: 2, error: 'first try' }]);
      expect(recovered!.record).toMatchObject({ done: 1, failed: 1 });
      await store.close();
    });

    it('[E1] a second final write for a task never overwrites the first', async () => {
      const store = await open();
      const job = jobRecord({ total: 1 });
      await store.insertJob(job, [1]);
      await store.commit({ tasks: [{ kind: 'done', job: job.id, index: 0, output: 'first', failures: 0, losses: 0 }], jobs: [], attempts: [] });
      await store.commit({ tasks: [{ kind: 'done', job: job.id, index: 0, output: 'second', failures: 0, losses: 0 }], jobs: [], attempts: [] });
      await store.commit({ tasks: [{ kind: 'failed', job: job.id, index: 0, error: 'x', failures: 1, losses: 0 }], jobs: [], attempts: [] });
      expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'done', output: 'first' }]);
      await store.close();
    });

    it('[J2] results read in index order, paged by the last index seen', async () => {
      const store = await open();
      const job = jobRecord({ total: 5 });
      await store.insertJob(job, [0, 1, 2, 3, 4]);
      const done = (index: number) => ({ kind: 'done' as const, job: job.id, index, output: index * 10, failures: 0, losses: 0 });
      await store.commit({ tasks: [done(4), done(0), done(3), done(1)], jobs: [], attempts: [] });
      expect((await store.readResults(job.id, -1, 2)).map((r) => r.index)).toEqual([0, 1]);
      expect((await store.readResults(job.id, 1, 2)).map((r) => r.index)).toEqual([3, 4]);
      expect(await store.readResults(job.id, 4, 2)).toEqual([]);
      expect(await store.readResults('missing', -1, 2)).toEqual([]);
      await store.close();
    });

    it('lists jobs newest first, with a cursor for older pages', async () => {
      const store = await open();
      const jobs = [jobRecord(), jobRecord(), jobRecord()];
      for (const j of jobs) await store.insertJob(j, [1, 2, 3]);
      const first = await store.listJobs(2);
      expect(first.jobs.map((j) => j.id)).toEqual([jobs[2]!.id, jobs[1]!.id]);
      expect(first.next).toBeDefined();
      const second = await store.listJobs(2, first.next);
      expect(second.jobs.map((j) => j.id)).toEqual([jobs[0]!.id]);
      expect(second.next).toBeUndefined();
      await store.close();
    });

    it('[D3] only queued and running jobs are recovered', async () => {
      const store = await open();
      const running = jobRecord();
      const completed = jobRecord();
      const cancelled = jobRecord();
      for (const j of [running, completed, cancelled]) await store.insertJob(j, [1, 2, 3]);
      await store.commit({
        tasks: [],
        jobs: [
          { id: running.id, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null },
          { id: completed.id, status: 'completed', done: 3, failed: 0, requeues: 0, startedAt: 1, finishedAt: 2 },
          { id: cancelled.id, status: 'cancelled', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: 2 },
        ],
        attempts: [],
      });
      expect((await store.loadUnfinished()).map((r) => r.record.id)).toEqual([running.id]);
      await store.close();
    });

    it('[D4] retention deletes finished jobs older than the cutoff, with their tasks', async () => {
      const store = await open();
      const old = jobRecord();
      const recent = jobRecord();
      const active = jobRecord();
      for (const j of [old, recent, active]) await store.insertJob(j, [1, 2, 3]);
      await store.commit({
        tasks: [],
        jobs: [
          { id: old.id, status: 'completed', done: 3, failed: 0, requeues: 0, startedAt: 1, finishedAt: 100 },
          { id: recent.id, status: 'cancelled', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: 500 },
        ],
        attempts: [],
      });
      expect(await store.deleteFinishedBefore(200)).toBe(1);
      expect(await store.getJob(old.id)).toBeUndefined();
      expect(await store.readResults(old.id, -1, 10)).toEqual([]);
      expect(await store.getJob(recent.id)).toBeDefined();
      expect(await store.getJob(active.id)).toBeDefined();
      await store.close();
    });

    it('keeps the attempt history of a task and samples results by status', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, ['a', 'b', 'c']);
      await store.commit({
        tasks: [
          { kind: 'done', job: job.id, index: 0, output: 'A', failures: 1, losses: 1 },
          { kind: 'failed', job: job.id, index: 2, error: 'bad c', failures: 3, losses: 0 },
        ],
        jobs: [],
        attempts: [
          { job: job.id, index: 0, attempt: 'x.1', volunteer: 'v1', leasedAt: 10, endedAt: 20, end: 'lost', error: null },
          { job: job.id, index: 0, attempt: 'x.2', volunteer: 'v2', leasedAt: 21, endedAt: 30, end: 'failed', error: 'oops' },
          { job: job.id, index: 0, attempt: 'x.3', volunteer: 'v2', leasedAt: 31, endedAt: 40, end: 'done', error: null },
        ],
      });
      const detail = await store.taskDetail(job.id, 0);
      expect(detail).toMatchObject({ index: 0, state: 'done', input: 'a', output: 'A', failures: 1, losses: 1 });
      expect(detail!.attempts.map((a) => [a.attempt, a.volunteer, a.end, a.error])).toEqual([
        ['x.1', 'v1', 'lost', null],
        ['x.2', 'v2', 'failed', 'oops'],
        ['x.3', 'v2', 'done', null],
      ]);
      expect(await store.taskDetail(job.id, 1)).toMatchObject({ state: 'pending', input: 'b', attempts: [] });
      expect(await store.taskDetail(job.id, 9)).toBeUndefined();
      expect(await store.sampleResults(job.id, 'failed', 5)).toEqual([{ index: 2, status: 'failed', error: 'bad c' }]);
      expect(await store.sampleResults(job.id, 'done', 5)).toEqual([{ index: 0, status: 'done', output: 'A' }]);
      await store.close();
    });

    it('resets failed tasks and reopens their job', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [1, 2, 3]);
      await store.commit({
        tasks: [
          { kind: 'done', job: job.id, index: 0, output: 1, failures: 0, losses: 0 },
          { kind: 'failed', job: job.id, index: 1, error: 'x', failures: 3, losses: 0 },
          { kind: 'failed', job: job.id, index: 2, error: 'y', failures: 3, losses: 0 },
        ],
        jobs: [{ id: job.id, status: 'completed', done: 1, failed: 2, requeues: 4, startedAt: 1, finishedAt: 9 }],
        attempts: [],
      });
      expect(await store.loadJob(job.id)).toBeUndefined();
      expect((await store.resetFailed(job.id)).map((t) => [t.index, t.input, t.failures])).toEqual([[1, 2, 0], [2, 3, 0]]);
      expect(await store.getJob(job.id)).toMatchObject({ status: 'running', failed: 0, finishedAt: null });
      const again = await store.loadJob(job.id);
      expect(again!.pending.map((t) => [t.index, t.input, t.failures])).toEqual([[1, 2, 0], [2, 3, 0]]);
      expect(await store.resetFailed(job.id)).toEqual([]);
      await store.close();
    });

    validationContract(open, jobRecord);
  });
}
