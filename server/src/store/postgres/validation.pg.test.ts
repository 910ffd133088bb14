/**
 * What the PostgreSQL backend adds to the contract's section V (contract-validation.ts): the `replicas` and
 * `inconclusive` counters as increments, verdicts folded in batch order, identities written once per batch.
 */
import { afterAll, expect, it } from 'vitest';
import { jobRecord } from '../contract.ts';
import { identity } from '../contract-validation.ts';
import type { JobProgress, ReplicaWrite } from '../store.ts';
import { PgStore } from './pg-store.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

async function open(schema?: string): Promise<PgStore> {
  if (!schema) schemas.push((schema = testSchema('valid')));
  return PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 });
}

const policy = { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } as const;

function vote(job: string, index: number, attempt: string): ReplicaWrite {
  return { job, index, attempt, identity: 'i_x', network: '10.0.0.0/24', kind: 'vote', ok: true, hash: 'h', output: index, error: null, at: 1, verdict: 'pending' };
}

const progress = (id: string, replicas: number, inconclusive: number): JobProgress => ({
  id,
  status: 'running',
  done: 0,
  failed: 0,
  requeues: 0,
  startedAt: 1,
  finishedAt: null,
  replicas,
  inconclusive,
});

describeWithPg('PgStore, result validation', () => {
  it('[V13] replicas and inconclusive move by increments: two stores committing at once add up', async () => {
    const a = await open();
    const b = await open(a.schema);
    const job = jobRecord({ total: 4, validation: policy });
    await a.insertJob(job, [0, 1, 2, 3]);
    await b.loadUnfinished(); // b learns the job as a restarted master would
    // a: two outcomes, both stored; b: two outcomes, one of them for a task final already (counted, no row).
    await Promise.all([
      a.commit({ tasks: [], attempts: [], jobs: [progress(job.id, 2, 1)], replicas: [vote(job.id, 0, 'a.1'), vote(job.id, 1, 'a.2')] }),
      b.commit({ tasks: [], attempts: [], jobs: [progress(job.id, 2, 1)], replicas: [vote(job.id, 2, 'b.1')] }),
    ]);
    expect(await a.getJob(job.id)).toMatchObject({ replicas: 4, inconclusive: 2 });
    await a.close();
    await b.close();
  });

  it('[V13] a commit retried after it landed stores and counts its replica rows once', async () => {
    const a = await open();
    const retrying = await open(a.schema);
    const job = jobRecord({ total: 2, validation: policy });
    await a.insertJob(job, [0, 1]);
    await retrying.loadUnfinished();
    const batch = { tasks: [], attempts: [], jobs: [progress(job.id, 2, 0)], replicas: [vote(job.id, 0, 'r.1'), vote(job.id, 1, 'r.2')] };
    await a.commit(batch);
    // The same batch from a store that never learned the first landed (its acknowledgement was lost).
    await retrying.commit({ ...batch, replicas: batch.replicas.map((r) => ({ ...r, hash: 'changed' })) });
    expect(await a.getJob(job.id)).toMatchObject({ replicas: 2 });
    expect((await a.taskDetail(job.id, 0))!.replicas!.map((r) => [r.attempt, r.hash])).toEqual([['r.1', 'h']]);
    await a.close();
    await retrying.close();
  });

  it("[V13] verdicts apply in the batch's order after its inserts; unknown replicas and jobs are ignored", async () => {
    const store = await open();
    const job = jobRecord({ total: 2, validation: policy });
    await store.insertJob(job, [0, 1]);
    await store.commit({
      tasks: [],
      jobs: [],
      attempts: [],
      replicas: [vote(job.id, 0, 'v.1'), vote(job.id, 1, 'v.2'), vote('no-such-job', 0, 'v.3')],
      verdicts: [
        { job: job.id, index: 0, attempt: 'v.1', verdict: 'credited' },
        { job: job.id, index: 1, attempt: 'v.2', verdict: 'accepted' },
        { job: job.id, index: 0, attempt: 'v.1', verdict: 'void' },
        { job: job.id, index: 0, attempt: 'missing', verdict: 'accepted' },
        { job: 'no-such-job', index: 0, attempt: 'v.3', verdict: 'accepted' },
      ],
    });
    expect((await store.taskDetail(job.id, 0))!.replicas!.map((r) => r.verdict)).toEqual(['void']);
    expect((await store.taskDetail(job.id, 1))!.replicas!.map((r) => r.verdict)).toEqual(['accepted']);
    expect((await store.loadJob(job.id))!.votes).toEqual([]);
    await store.close();
  });

  it('[V5] one batch naming an identity twice keeps the last record; ids PostgreSQL refuses are harmless', async () => {
    const store = await open();
    await store.commit({
      tasks: [],
      jobs: [],
      attempts: [],
      identities: [identity('i_a'), identity('i_b', { createdAt: 6 }), identity('i_a', { state: 'trusted', streak: 3, banReason: 'a\u0000b' })],
    });
    expect(await store.getIdentity('i_a')).toMatchObject({ state: 'trusted', streak: 3, banReason: 'a\uFFFDb' });
    expect(await store.getIdentity('i_\u0000')).toBeUndefined();
    expect(await store.getIdentities([])).toEqual([]);
    // i_a was named first, so it is the older of the two.
    expect((await store.listIdentities(0, 10)).rows.map((r) => r.id)).toEqual(['i_b', 'i_a']);
    expect(await store.listIdentities(-5, 1)).toMatchObject({ total: 2, rows: [{ id: 'i_b' }] });
    expect((await store.listIdentities(0, -1)).rows).toEqual([]);
    await store.close();
  });
});
