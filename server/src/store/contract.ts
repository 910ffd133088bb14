/**
 * The Store contract: one suite every backend must pass (SPEC.md D, E, K rules). A backend's test file calls
 * `storeContract(name, open)` where `open` gives a fresh, empty store.
 */
import { describe, expect, it } from 'vitest';
import type { JobRecord, Owner, Store, TaskWrite } from './store.ts';
import { validationContract } from './contract-validation.ts';
import { clusterContract } from './contract-cluster.ts';

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

/** A job record as the store gives it back: with its place in the commit order (K6). */
export const stored = (j: JobRecord, extra: Partial<JobRecord> = {}) => ({ ...j, fin: 0, ...extra });

export const done = (job: string, index: number, output: unknown = index): TaskWrite => ({ kind: 'done', job, index, output, failures: 0, losses: 0 });
export const failed = (job: string, index: number, error = 'boom'): TaskWrite => ({ kind: 'failed', job, index, error, failures: 3, losses: 0 });
export const owner = (master: string, gen = 1): Owner => ({ master, gen });

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    it('[D1] an inserted job reads back whole, with its tasks pending and claimable', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [{ a: 1 }, 'two', null]);
      expect(await store.getJob(job.id)).toEqual(stored(job));
      const claimed = await store.claimTasks(job.id, owner('m1'), 10);
      expect(claimed.map((t) => [t.index, t.input, t.failures, t.losses, t.error])).toEqual([
        [0, { a: 1 }, 0, 0, null],
        [1, 'two', 0, 0, null],
        [2, null, 0, 0, null],
      ]);
      expect(await store.getJob('missing')).toBeUndefined();
      await store.close();
    });

    it('[D1] a job of hundreds of inputs (stores write them many rows a statement) keeps each input at its index', async () => {
      const store = await open();
      // 257: two whole chunks of SQLite's 100 rows a statement and a remainder written one by one.
      const inputs: unknown[] = Array.from({ length: 257 }, (_, i) => (i % 3 === 0 ? { i } : i % 3 === 1 ? `s${i}` : i));
      inputs[200] = undefined;
      const job = jobRecord({ total: inputs.length });
      await store.insertJob(job, inputs);
      const claimed = await store.claimTasks(job.id, owner('m1'), 1000);
      expect(claimed.map((t) => [t.index, t.input])).toEqual(inputs.map((input, i) => [i, input ?? null]));
      await store.close();
    });

    it('[K1] a claim of over a thousand tasks brings each back whole, in index order: inputs of every JSON kind, counts and last error', async () => {
      const store = await open();
      const kinds: unknown[] = ['"quoted"', 'back\\slash', 'ünï cødé 🚀', 'line\u2028sep', '', 0, -1.5, 1e21, true, false, null, [], [1, [2, { x: 'y' }]], { a: { b: null } }, { '': '' }];
      const inputs = Array.from({ length: 1100 }, (_, i) => kinds[i % kinds.length]);
      const job = jobRecord({ total: inputs.length });
      await store.insertJob(job, inputs);
      const error = 'it said "no" \\ ünï\nnext line';
      expect((await store.commit({ tasks: [{ kind: 'retry', job: job.id, index: 700, failures: 1, losses: 2, error }], jobs: [], attempts: [] })).applied).toEqual([true]);
      const claimed = await store.claimTasks(job.id, owner('m1'), 2000);
      expect(claimed.map((t) => t.index)).toEqual(inputs.map((_, i) => i));
      expect(claimed.map((t) => t.input)).toEqual(inputs);
      expect(claimed[700]).toMatchObject({ failures: 1, losses: 2, error });
      expect(claimed.filter((t) => t.error !== null || t.failures !== 0 || t.losses !== 0).map((t) => t.index)).toEqual([700]);
      await store.close();
    });

    it('[A2] a job keeps the assets it names (name, hash, size), in order', async () => {
      const store = await open();
      const assets = [
        { name: 'model.wasm', sha256: 'a'.repeat(64), size: 1234 },
        { name: 'data.json', sha256: 'b'.repeat(64), size: 0 },
      ];
      const job = jobRecord({ total: 1, assets });
      await store.insertJob(job, [1]);
      expect((await store.getJob(job.id))?.assets).toEqual(assets);
      const plain = jobRecord({ total: 1 });
      await store.insertJob(plain, [1]);
      expect(await store.getJob(plain.id)).not.toHaveProperty('assets');
      await store.close();
    });

    it('[D2][K5] a commit applies task results and job counters together; the counters move by increments', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [1, 2, 3]);
      const receipt = await store.commit({
        at: 40,
        tasks: [done(job.id, 2, { y: 3 }), failed(job.id, 0), { kind: 'retry', job: job.id, index: 1, failures: 1, losses: 2, error: 'first try' }],
        jobs: [{ id: job.id, requeues: 3, replicas: 0, inconclusive: 0, startedAt: 5 }],
        attempts: [],
      });
      expect(receipt.applied).toEqual([true, true, true]);
      expect(receipt.jobs).toMatchObject([{ id: job.id, status: 'running', done: 1, failed: 1, requeues: 3, startedAt: 5, fin: 2 }]);
      expect(await store.readResults(job.id, -1, 10)).toEqual([
        { index: 0, status: 'failed', error: 'boom' },
        { index: 2, status: 'done', output: { y: 3 } },
      ]);
      await store.commit({ tasks: [], jobs: [{ id: job.id, requeues: 2, replicas: 0, inconclusive: 0 }], attempts: [] });
      expect(await store.getJob(job.id)).toMatchObject({ status: 'running', done: 1, failed: 1, requeues: 5, startedAt: 5 });
      const [left] = await store.claimTasks(job.id, owner('m1'), 10);
      expect(left).toEqual({ index: 1, input: 2, failures: 1, losses: 2, error: 'first try' });
      await store.close();
    });

    it('[E1][K4] a second final write for a task never overwrites the first, and the receipt says it did not take effect', async () => {
      const store = await open();
      const job = jobRecord({ total: 1 });
      await store.insertJob(job, [1]);
      expect((await store.commit({ tasks: [done(job.id, 0, 'first')], jobs: [], attempts: [] })).applied).toEqual([true]);
      expect((await store.commit({ tasks: [done(job.id, 0, 'second')], jobs: [], attempts: [] })).applied).toEqual([false]);
      expect((await store.commit({ tasks: [failed(job.id, 0, 'x')], jobs: [], attempts: [] })).applied).toEqual([false]);
      expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'done', output: 'first' }]);
      expect(await store.getJob(job.id)).toMatchObject({ done: 1, failed: 0 });
      await store.close();
    });

    it('[K5] a job completes in the commit of its last final task, with the batch time as its end', async () => {
      const store = await open();
      const job = jobRecord({ total: 2 });
      await store.insertJob(job, [1, 2]);
      const first = await store.commit({ at: 10, tasks: [done(job.id, 0)], jobs: [], attempts: [] });
      expect(first.jobs).toMatchObject([{ status: 'running', done: 1, finishedAt: null }]);
      const last = await store.commit({ at: 20, tasks: [failed(job.id, 1)], jobs: [], attempts: [] });
      expect(last.jobs).toMatchObject([{ status: 'completed', done: 1, failed: 1, finishedAt: 20 }]);
      expect(await store.activeJobs()).toEqual([]);
      await store.close();
    });

    it('[J2] results read in index order, paged by the last index seen', async () => {
      const store = await open();
      const job = jobRecord({ total: 5 });
      await store.insertJob(job, [0, 1, 2, 3, 4]);
      await store.commit({ tasks: [done(job.id, 4, 40), done(job.id, 0, 0), done(job.id, 3, 30), done(job.id, 1, 10)], jobs: [], attempts: [] });
      expect((await store.readResults(job.id, -1, 2)).map((r) => r.index)).toEqual([0, 1]);
      expect((await store.readResults(job.id, 1, 2)).map((r) => r.index)).toEqual([3, 4]);
      expect(await store.readResults(job.id, 4, 2)).toEqual([]);
      expect(await store.readResults('missing', -1, 2)).toEqual([]);
      await store.close();
    });

    it('[K6] final tasks are numbered in commit order; a follower reads on from any number', async () => {
      const store = await open();
      const job = jobRecord({ total: 4 });
      await store.insertJob(job, [0, 1, 2, 3]);
      await store.commit({ tasks: [done(job.id, 3, 'c'), done(job.id, 1, 'a')], jobs: [], attempts: [] });
      await store.commit({ tasks: [failed(job.id, 0, 'z')], jobs: [], attempts: [] });
      expect(await store.resultsSince(job.id, 0, 10)).toEqual([
        { index: 3, status: 'done', output: 'c', fin: 1 },
        { index: 1, status: 'done', output: 'a', fin: 2 },
        { index: 0, status: 'failed', error: 'z', fin: 3 },
      ]);
      expect((await store.resultsSince(job.id, 2, 10)).map((r) => r.index)).toEqual([0]);
      expect(await store.resultsSince(job.id, 3, 10)).toEqual([]);
      // A place before the first number reads from the start, a page of one included.
      expect((await store.resultsSince(job.id, -1, 1)).map((r) => r.fin)).toEqual([1]);
      expect((await store.resultsSince(job.id, -5, 2)).map((r) => r.fin)).toEqual([1, 2]);
      expect((await store.getJob(job.id))!.fin).toBe(3);
      await store.close();
    });

    it('[K6][J4] a failed task retried and made final again is read once, at its new number, not at its old one', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [0, 1, 2]);
      await store.commit({ tasks: [failed(job.id, 1, 'x'), done(job.id, 0, 'a')], jobs: [], attempts: [] });
      expect(await store.resetFailed(job.id)).toBe(1);
      // Pending again: its old number reads as nothing.
      expect((await store.resultsSince(job.id, 0, 10)).map((r) => [r.index, r.fin])).toEqual([[0, 2]]);
      await store.commit({ tasks: [done(job.id, 2, 'c')], jobs: [], attempts: [] });
      await store.commit({ tasks: [done(job.id, 1, 'b')], jobs: [], attempts: [] });
      expect(await store.resultsSince(job.id, 0, 10)).toEqual([
        { index: 0, status: 'done', output: 'a', fin: 2 },
        { index: 2, status: 'done', output: 'c', fin: 3 },
        { index: 1, status: 'done', output: 'b', fin: 4 },
      ]);
      // Paged one at a time, past the stale place: each once.
      const paged: number[] = [];
      for (let at = 0, page = await store.resultsSince(job.id, at, 1); page.length > 0; at = page[0]!.fin, page = await store.resultsSince(job.id, at, 1)) paged.push(page[0]!.index);
      expect(paged).toEqual([0, 2, 1]);
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

    it('[D3][J3] only queued and running jobs are active; a cancel ends a job (a finished one stays as it is)', async () => {
      const store = await open();
      const [queued, running, completed, cancelled] = [jobRecord({ total: 1 }), jobRecord({ total: 2 }), jobRecord({ total: 1 }), jobRecord()];
      for (const j of [queued, running, completed, cancelled]) await store.insertJob(j, Array.from({ length: j.total }, (_, i) => i));
      await store.commit({ tasks: [done(running.id, 0), done(completed.id, 0)], jobs: [], attempts: [] });
      expect(await store.cancelJob(cancelled.id, 77)).toMatchObject({ status: 'cancelled', finishedAt: 77 });
      expect(await store.cancelJob(completed.id, 78)).toMatchObject({ status: 'completed' });
      expect(await store.cancelJob('missing', 79)).toBeUndefined();
      const active = await store.activeJobs();
      expect(active.map((r) => [r.id, r.status])).toEqual([
        [queued.id, 'queued'],
        [running.id, 'running'],
      ]);
      expect(active[0]).not.toHaveProperty('code');
      await store.close();
    });

    it('[D4] retention deletes finished jobs older than the cutoff, with their tasks', async () => {
      const store = await open();
      const old = jobRecord({ total: 1 });
      const recent = jobRecord();
      const active = jobRecord();
      for (const j of [old, recent, active]) await store.insertJob(j, Array.from({ length: j.total }, (_, i) => i));
      await store.commit({ at: 100, tasks: [done(old.id, 0)], jobs: [], attempts: [] });
      await store.cancelJob(recent.id, 500);
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

    it('[D6] the attempt that made a task done, kept on its row, reads last in its history', async () => {
      const store = await open();
      const job = jobRecord({ total: 2 });
      await store.insertJob(job, ['a', 'b']);
      await store.commit({
        tasks: [{ kind: 'done', job: job.id, index: 0, output: 'A', failures: 1, losses: 0, by: { attempt: 'y.2', volunteer: 'v9', leasedAt: 50, endedAt: 60 } }],
        jobs: [],
        attempts: [{ job: job.id, index: 0, attempt: 'y.1', volunteer: 'v8', leasedAt: 10, endedAt: 40, end: 'failed', error: 'first try' }],
      });
      expect((await store.taskDetail(job.id, 0))!.attempts).toEqual([
        { attempt: 'y.1', volunteer: 'v8', leasedAt: 10, endedAt: 40, end: 'failed', error: 'first try' },
        { attempt: 'y.2', volunteer: 'v9', leasedAt: 50, endedAt: 60, end: 'done', error: null },
      ]);
      expect((await store.taskDetail(job.id, 1))!.attempts).toEqual([]);
      await store.close();
    });

    it('[J4] resets failed tasks (claimable again) and reopens their job', async () => {
      const store = await open();
      const job = jobRecord({ total: 3 });
      await store.insertJob(job, [1, 2, 3]);
      await store.claimTasks(job.id, owner('m1'), 3);
      await store.commit({ owner: owner('m1'), tasks: [done(job.id, 0, 1), failed(job.id, 1, 'x'), failed(job.id, 2, 'y')], jobs: [], attempts: [] });
      expect(await store.getJob(job.id)).toMatchObject({ status: 'completed', failed: 2 });
      expect(await store.resetFailed(job.id)).toBe(2);
      expect(await store.getJob(job.id)).toMatchObject({ status: 'running', failed: 0, finishedAt: null });
      expect((await store.claimTasks(job.id, owner('m2'), 10)).map((t) => [t.index, t.input, t.failures])).toEqual([
        [1, 2, 0],
        [2, 3, 0],
      ]);
      expect(await store.resetFailed(job.id)).toBe(0);
      await store.close();
    });

    clusterContract(open, jobRecord);
    validationContract(open, jobRecord);
  });
}
