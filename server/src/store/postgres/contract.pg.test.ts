/**
 * The Store contract (contract.ts, the suite SQLite passes) against PostgreSQL, each test in a schema of its
 * own, dropped afterwards; then what the PostgreSQL backend adds to it: receipts of folded writes, increments
 * from two stores, forward-only status, text PostgreSQL refuses, COPY ingest. Several masters at once: cluster.pg.test.ts.
 */
import { afterAll, expect, it } from 'vitest';
import { done, failed, jobRecord, owner, storeContract } from '../contract.ts';
import { PgStore } from './pg-store.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

async function open(): Promise<PgStore> {
  const schema = testSchema('contract');
  schemas.push(schema);
  return PgStore.open({ url: PG_TEST_URL, schema, poolSize: 4 });
}

describeWithPg('PostgreSQL', () => storeContract('postgres (schema per test)', open));

describeWithPg('PgStore', () => {
  it('[E1] a commit receipt says which task writes took effect', async () => {
    const store = await open();
    const job = jobRecord({ total: 3 });
    await store.insertJob(job, [0, 1, 2]);
    const first = await store.commit({
      tasks: [
        { kind: 'retry', job: job.id, index: 0, failures: 1, losses: 0, error: 'try 1' },
        { kind: 'done', job: job.id, index: 0, output: 'A', failures: 1, losses: 0 },
        { kind: 'done', job: job.id, index: 0, output: 'again', failures: 1, losses: 0 },
        { kind: 'retry', job: job.id, index: 0, failures: 2, losses: 0, error: 'late' },
        { kind: 'failed', job: job.id, index: 1, error: 'bad', failures: 3, losses: 0 },
        { kind: 'done', job: 'no-such-job', index: 0, output: 1, failures: 0, losses: 0 },
        { kind: 'done', job: job.id, index: 7, output: 'no such task', failures: 0, losses: 0 },
      ],
      jobs: [],
      attempts: [],
    });
    expect(first.applied).toEqual([true, true, false, false, true, false, false]);
    const second = await store.commit({
      tasks: [
        { kind: 'done', job: job.id, index: 1, output: 'too late', failures: 0, losses: 0 },
        { kind: 'done', job: job.id, index: 2, output: 'C', failures: 0, losses: 0 },
      ],
      jobs: [],
      attempts: [],
    });
    expect(second.applied).toEqual([false, true]);
    expect(await store.readResults(job.id, -1, 10)).toEqual([
      { index: 0, status: 'done', output: 'A' },
      { index: 1, status: 'failed', error: 'bad' },
      { index: 2, status: 'done', output: 'C' },
    ]);
    // The done write keeps the error of the retry before it, as the same writes applied one by one do.
    expect(await store.taskDetail(job.id, 0)).toMatchObject({ state: 'done', output: 'A', error: 'try 1', failures: 1 });
    await store.close();
  });

  it('[D2][K5] counters move by increments from the rows a commit changed, so two stores committing add up', async () => {
    const a = await open();
    const b = await PgStore.open({ url: PG_TEST_URL, schema: a.schema, poolSize: 2 });
    const job = jobRecord({ total: 4 });
    await a.insertJob(job, [0, 1, 2, 3]);
    const delta = (requeues: number) => ({ id: job.id, requeues, replicas: 0, inconclusive: 0, startedAt: 5 });
    await Promise.all([
      a.commit({ tasks: [done(job.id, 0)], jobs: [delta(1)], attempts: [] }),
      b.commit({ tasks: [done(job.id, 1), done(job.id, 2)], jobs: [delta(2)], attempts: [] }),
    ]);
    // A duplicate final write counts nothing, though the master that sent it may have counted it.
    const dup = await a.commit({ tasks: [done(job.id, 1, 'dup')], jobs: [delta(0)], attempts: [] });
    expect(dup.applied).toEqual([false]);
    expect(dup.jobs).toMatchObject([{ id: job.id, done: 3, failed: 0, requeues: 3, status: 'running', startedAt: 5, fin: 3 }]);
    expect(await b.getJob(job.id)).toMatchObject({ done: 3, requeues: 3, fin: 3 });
    await a.close();
    await b.close();
  });

  it('[J1][K5] status only moves forward: no commit takes a job out of completed or cancelled', async () => {
    const store = await open();
    const [finished, cancelled] = [jobRecord({ total: 1 }), jobRecord({ total: 2 })];
    await store.insertJob(finished, [0]);
    await store.insertJob(cancelled, [0, 1]);
    const first = await store.commit({ at: 30, tasks: [done(finished.id, 0)], jobs: [{ id: finished.id, requeues: 0, replicas: 0, inconclusive: 0, startedAt: 10 }], attempts: [] });
    expect(first.jobs).toMatchObject([{ status: 'completed', startedAt: 10, finishedAt: 30 }]);
    await store.cancelJob(cancelled.id, 40);
    // Late writes from a master that had not heard yet: an unfenced final write still lands on a pending task (E1 holds), the status stays.
    const late = await store.commit({
      at: 50,
      tasks: [done(finished.id, 0, 'again'), done(cancelled.id, 0), failed(cancelled.id, 1)],
      jobs: [{ id: finished.id, requeues: 1, replicas: 0, inconclusive: 0, startedAt: 20 }],
      attempts: [],
    });
    expect(late.applied).toEqual([false, true, true]);
    expect(late.jobs).toMatchObject([
      { id: finished.id, status: 'completed', requeues: 1, startedAt: 10, finishedAt: 30 },
      { id: cancelled.id, status: 'cancelled', done: 1, failed: 1, finishedAt: 40 },
    ]);
    await store.close();
  });

  it('[S9] keeps text PostgreSQL refuses (U+0000) and odd ids and cursors from the outside harmless', async () => {
    const store = await open();
    const job = jobRecord({ total: 2, name: 'a\u0000b', code: 'export default () => "\u0000"' });
    await store.insertJob(job, ['\u0000', { k: '\\"' }]);
    await store.commit({ tasks: [{ kind: 'failed', job: job.id, index: 0, error: 'nul \u0000 here', failures: 3, losses: 0 }], jobs: [], attempts: [] });
    const got = await store.getJob(job.id);
    expect(got!.name).toBe('a\uFFFDb');
    expect(got!.code).toBe('export default () => "\\u0000"');
    expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'failed', error: 'nul \uFFFD here' }]);
    expect(await store.claimTasks(job.id, owner('m\u0000'), 10)).toEqual([{ index: 1, input: { k: '\\"' }, failures: 0, losses: 0, error: null }]);
    expect((await store.commit({ owner: owner('m\u0000'), tasks: [done(job.id, 1)], jobs: [], attempts: [], events: [{ t: 1.5, master: 'm\u0000', kind: 'k', text: 't\u0000' }] })).applied).toEqual([true]);
    expect(await store.eventsSince(0, 5)).toMatchObject([{ t: 1, master: 'm\uFFFD', text: 't\uFFFD' }]);
    expect(await store.getJob('\u0000')).toBeUndefined();
    expect(await store.taskDetail(job.id, 1e12)).toBeUndefined();
    expect((await store.listJobs(5, '9'.repeat(40))).jobs.map((j) => j.id)).toEqual([job.id]);
    expect((await store.listJobs(5, '-3')).jobs).toEqual([]);
    await store.close();
  });

  it('[D1] a million small inputs go in by COPY within seconds', async () => {
    const store = await open();
    const total = 1_000_000;
    const job = jobRecord({ total });
    const inputs = Array.from({ length: total }, (_, i) => ({ n: i }));
    const started = performance.now();
    await store.insertJob(job, inputs);
    const ms = performance.now() - started;
    console.log(`PgStore.insertJob: ${total} inputs in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(20_000);
    expect(await store.readResults(job.id, -1, 1)).toEqual([]);
    const { rows } = await store.pool.query<{ n: number; last: string }>('SELECT count(*)::int AS n, max(input) FILTER (WHERE idx = $1) AS last FROM tasks', [total - 1]);
    expect(rows[0]).toEqual({ n: total, last: JSON.stringify({ n: total - 1 }) });
    await store.close();
  }, 60_000);
});
