/**
 * What the PostgreSQL backend adds to the contract's section V (contract-validation.ts), with several masters
 * writing at once: `replicas`/`inconclusive` increments add up, a retried commit stores its rows once,
 * verdicts apply in batch order, identity events compose (also when two masters create one identity).
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { jobRecord, owner } from '../contract.ts';
import { identity } from '../contract-validation.ts';
import type { IdentityEvent, JobDelta, ReplicaWrite } from '../store.ts';
import { DEFAULT_TRUST_POLICY } from '../../validation/trust.ts';
import { PgStore } from './pg-store.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

async function open(schema?: string): Promise<PgStore> {
  if (!schema) schemas.push((schema = testSchema('valid')));
  return PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 });
}

const policy = { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } as const;
const trust = { ...DEFAULT_TRUST_POLICY, trustAfter: 1000 };

function vote(job: string, index: number, attempt: string): ReplicaWrite {
  return { job, index, attempt, identity: 'i_x', network: '10.0.0.0/24', kind: 'vote', ok: true, hash: 'h', output: index, error: null, at: 1, verdict: 'pending' };
}

const delta = (id: string, replicas: number, inconclusive: number): JobDelta => ({ id, requeues: 0, replicas, inconclusive });
const create = (id: string, createdAt = 5): IdentityEvent => ({ id, event: 'create', record: identity(id, { createdAt }) });
const pass = (id: string, at = 1): IdentityEvent => ({ id, event: 'pass', at, policy: trust });
const empty = { tasks: [], jobs: [], attempts: [] };

describeWithPg('PgStore, result validation', () => {
  it('[V13][K5] replicas and inconclusive move by increments: two stores committing at once add up', async () => {
    const a = await open();
    const b = await open(a.schema);
    const job = jobRecord({ total: 4, validation: policy });
    await a.insertJob(job, [0, 1, 2, 3]);
    await Promise.all([
      a.commit({ ...empty, jobs: [delta(job.id, 2, 1)], replicas: [vote(job.id, 0, 'a.1'), vote(job.id, 1, 'a.2')] }),
      b.commit({ ...empty, jobs: [delta(job.id, 3, 1)], replicas: [vote(job.id, 2, 'b.1')] }),
    ]);
    expect(await a.getJob(job.id)).toMatchObject({ replicas: 5, inconclusive: 2 });
    await a.close();
    await b.close();
  });

  it('[V13][K4] a commit retried after it landed keeps its first rows and is acknowledged again', async () => {
    const store = await open();
    const job = jobRecord({ total: 2, validation: policy });
    await store.insertJob(job, [0, 1]);
    await store.claimTasks(job.id, owner('m'), 2);
    const batch = { ...empty, owner: owner('m'), replicas: [vote(job.id, 0, 'r.1'), vote(job.id, 1, 'r.2')] };
    expect((await store.commit(batch)).votes).toEqual([true, true]);
    // The same batch again, as the writer sends it when the first acknowledgement was lost.
    const again = await store.commit({ ...batch, replicas: batch.replicas.map((r) => ({ ...r, hash: 'changed' })) });
    expect(again.votes).toEqual([true, true]);
    expect((await store.taskDetail(job.id, 0))!.replicas!.map((r) => [r.attempt, r.hash])).toEqual([['r.1', 'h']]);
    await store.close();
  });

  it("[V13] verdicts apply in the batch's order after its inserts; unknown replicas and jobs are ignored", async () => {
    const store = await open();
    const job = jobRecord({ total: 2, validation: policy });
    await store.insertJob(job, [0, 1]);
    const receipt = await store.commit({
      ...empty,
      replicas: [vote(job.id, 0, 'v.1'), vote(job.id, 1, 'v.2'), vote('no-such-job', 0, 'v.3')],
      verdicts: [
        { job: job.id, index: 0, attempt: 'v.1', verdict: 'credited' },
        { job: job.id, index: 1, attempt: 'v.2', verdict: 'accepted' },
        { job: job.id, index: 0, attempt: 'v.1', verdict: 'void' },
        { job: job.id, index: 0, attempt: 'missing', verdict: 'accepted' },
        { job: 'no-such-job', index: 0, attempt: 'v.3', verdict: 'accepted' },
      ],
    });
    expect(receipt.votes).toEqual([true, true, false]);
    expect((await store.taskDetail(job.id, 0))!.replicas!.map((r) => r.verdict)).toEqual(['void']);
    expect((await store.taskDetail(job.id, 1))!.replicas!.map((r) => r.verdict)).toEqual(['accepted']);
    expect((await store.claimTasks(job.id, owner('m'), 2)).map((t) => t.votes)).toEqual([[], []]);
    await store.close();
  });

  it('[V3][K5] two masters passing one identity at once: every pass counts', async () => {
    const a = await open();
    const b = await open(a.schema);
    await a.commit({ ...empty, identities: [create('i_a')] });
    const rounds = 15;
    await Promise.all(
      [a, b].map(async (store) => {
        for (let k = 0; k < rounds; k++) await store.commit({ ...empty, identities: [pass('i_a', k), pass('i_b', k)] });
      }),
    );
    expect(await a.getIdentity('i_a')).toMatchObject({ checksPassed: 2 * rounds, streak: 2 * rounds });
    expect(await a.getIdentity('i_b')).toBeUndefined();
    await a.close();
    await b.close();
  });

  it('[V3][K5] an identity another master creates meanwhile is not overwritten: the events apply to its record', async () => {
    const store = await open();
    // Another master's commit, still open, has created i_c; ours creates it too, then passes it.
    const other = new pg.Client({ connectionString: PG_TEST_URL, options: `-c search_path=${store.schema}` });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(
        `INSERT INTO identities (id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted)
         VALUES ('i_c', 'theirs', 'n', 1, 'untrusted', false, 4, 0, 4, 0, 0)`,
      );
      const ours = store.commit({ ...empty, identities: [create('i_c', 9), pass('i_c')] });
      await new Promise((r) => setTimeout(r, 200)); // ours is waiting on their uncommitted row
      await other.query('COMMIT');
      const receipt = await ours;
      expect(receipt.identities).toMatchObject([{ id: 'i_c', key: 'theirs', createdAt: 1, checksPassed: 5, streak: 5 }]);
      expect(await store.getIdentity('i_c')).toEqual(receipt.identities[0]);
    } finally {
      await other.end();
      await store.close();
    }
  });

  it('[V5] ids PostgreSQL refuses are harmless; identity pages take any offset and limit', async () => {
    const store = await open();
    await store.commit({ ...empty, identities: [create('i_a'), create('i_b', 6), { id: 'i_a', event: 'ban', at: 7, reason: 'a\u0000b' }] });
    expect(await store.getIdentity('i_a')).toMatchObject({ state: 'banned', banReason: 'a\uFFFDb' });
    expect(await store.getIdentity('i_\u0000')).toBeUndefined();
    expect(await store.getIdentities([])).toEqual([]);
    // i_a was created first, so it is the older of the two.
    expect((await store.listIdentities(0, 10)).rows.map((r) => r.id)).toEqual(['i_b', 'i_a']);
    expect(await store.listIdentities(-5, 1)).toMatchObject({ total: 2, rows: [{ id: 'i_b' }] });
    expect((await store.listIdentities(0, -1)).rows).toEqual([]);
    await store.close();
  });
});
