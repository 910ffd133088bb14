/**
 * The Store contract, section V: what result validation keeps (votes and checks, identities and their
 * trust, the operator's known answers). Part of storeContract, so every backend passes it.
 */
import { expect, it } from 'vitest';
import type { IdentityRecord, JobRecord, ReplicaWrite, Store } from './store.ts';

const policy = { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } as const;

export function identity(id: string, overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return { id, key: `key-of-${id}`, network: '10.0.0.0/24', createdAt: 5, state: 'untrusted', vouched: false, streak: 0, trustedChecks: 0, checksPassed: 0, checksFailed: 0, contradicted: 0, bannedAt: null, banReason: null, ...overrides };
}

function replica(job: string, index: number, attempt: string, who: string, overrides: Partial<ReplicaWrite> = {}): ReplicaWrite {
  return { job, index, attempt, identity: who, network: '10.0.0.0/24', kind: 'vote', ok: true, hash: `h${index}`, output: { v: index }, error: null, at: 100, verdict: 'pending', ...overrides };
}

export function validationContract(open: () => Promise<Store>, jobRecord: (o?: Partial<JobRecord>) => JobRecord): void {
  it('[V13] a validated job keeps its policy, its known answers and its counters', async () => {
    const store = await open();
    const job = jobRecord({ total: 2, validation: policy });
    await store.insertJob(job, ['a', 'b'], [{ input: 'k', output: 'K', index: 1 }, { input: { x: 1 }, output: [2] }]);
    expect(await store.getJob(job.id)).toMatchObject({ validation: policy });
    await store.commit({ tasks: [], attempts: [], jobs: [{ id: job.id, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null, replicas: 7, inconclusive: 1 }] });
    expect(await store.getJob(job.id)).toMatchObject({ replicas: 7, inconclusive: 1 });
    const [recovered] = await store.loadUnfinished();
    expect(recovered!.checks).toEqual([{ input: 'k', output: 'K', index: 1 }, { input: { x: 1 }, output: [2] }]);
    expect(recovered!.record.validation).toEqual(policy);
    await store.close();
  });

  it('[V13] votes are durable with their batch; only unsettled ones come back with their job, credited ones marked', async () => {
    const store = await open();
    const job = jobRecord({ total: 3, validation: policy });
    await store.insertJob(job, [0, 1, 2]);
    await store.commit({
      tasks: [],
      jobs: [],
      attempts: [],
      replicas: [
        replica(job.id, 0, 'a.1', 'i_one'),
        replica(job.id, 0, 'a.2', 'i_two', { ok: false, hash: 'failed', output: null, error: 'boom' }),
        replica(job.id, 1, 'a.3', 'i_one'),
        replica(job.id, 2, 'a.4', 'i_two', { kind: 'check', verdict: 'passed' }),
      ],
      verdicts: [
        { job: job.id, index: 1, attempt: 'a.3', verdict: 'accepted' },
        { job: job.id, index: 0, attempt: 'a.1', verdict: 'credited' },
      ],
    });
    // The same batch again (a retried commit) changes nothing.
    await store.commit({ tasks: [], jobs: [], attempts: [], replicas: [replica(job.id, 0, 'a.1', 'i_one', { hash: 'other' })] });
    const [recovered] = await store.loadUnfinished();
    expect(recovered!.votes).toEqual([
      { index: 0, vote: { attempt: 'a.1', identity: 'i_one', network: '10.0.0.0/24', ok: true, output: { v: 0 }, error: null, hash: 'h0', credited: true } },
      { index: 0, vote: { attempt: 'a.2', identity: 'i_two', network: '10.0.0.0/24', ok: false, output: null, error: 'boom', hash: 'failed', credited: false } },
    ]);
    const detail = await store.taskDetail(job.id, 0);
    expect(detail!.replicas!.map((r) => [r.attempt, r.identity, r.kind, r.ok, r.hash, r.verdict])).toEqual([
      ['a.1', 'i_one', 'vote', true, 'h0', 'credited'],
      ['a.2', 'i_two', 'vote', false, 'failed', 'pending'],
    ]);
    expect((await store.taskDetail(job.id, 2))!.replicas!.map((r) => [r.kind, r.verdict])).toEqual([['check', 'passed']]);
    await store.close();
  });

  it('[V3][V5] identities are created and changed in commits, read one, several or by page (newest first)', async () => {
    const store = await open();
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [identity('i_a'), identity('i_b', { createdAt: 6 })] });
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [identity('i_c', { createdAt: 7 })] });
    const banned = identity('i_a', { state: 'banned', streak: 0, checksPassed: 4, checksFailed: 1, bannedAt: 50, banReason: 'wrong result' });
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [banned, identity('i_b', { createdAt: 6, state: 'trusted', vouched: true, streak: 10, trustedChecks: 2, checksPassed: 10 })] });
    expect(await store.getIdentity('i_a')).toEqual(banned);
    expect(await store.getIdentity('i_b')).toMatchObject({ state: 'trusted', vouched: true, streak: 10, trustedChecks: 2 });
    expect(await store.getIdentity('i_missing')).toBeUndefined();
    expect((await store.getIdentities(['i_c', 'i_missing', 'i_a', 'i_c'])).map((r) => r.id).sort()).toEqual(['i_a', 'i_c']);
    const page = await store.listIdentities(0, 2);
    expect(page.total).toBe(3);
    expect(page.rows.map((r) => r.id)).toEqual(['i_c', 'i_b']);
    expect((await store.listIdentities(2, 2)).rows.map((r) => r.id)).toEqual(['i_a']);
    await store.close();
  });

  it('[D4] retention deletes a finished job with its votes and known answers', async () => {
    const store = await open();
    const job = jobRecord({ total: 1, validation: policy });
    await store.insertJob(job, [0], [{ input: 1, output: 2 }]);
    await store.commit({
      tasks: [{ kind: 'done', job: job.id, index: 0, output: 1, failures: 0, losses: 0 }],
      jobs: [{ id: job.id, status: 'completed', done: 1, failed: 0, requeues: 0, startedAt: 1, finishedAt: 10 }],
      attempts: [],
      replicas: [replica(job.id, 0, 'r.1', 'i_one', { verdict: 'accepted' })],
    });
    expect(await store.deleteFinishedBefore(20)).toBe(1);
    expect(await store.taskDetail(job.id, 0)).toBeUndefined();
    await store.close();
  });
}
