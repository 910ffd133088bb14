/**
 * The Store contract, section V: what result validation keeps (votes and checks, identities and their
 * trust, the operator's known answers). Part of storeContract, so every backend passes it.
 */
import { expect, it } from 'vitest';
import type { IdentityRecord, JobRecord, ReplicaWrite, Store } from './store.ts';
import { DEFAULT_TRUST_POLICY } from '../validation/trust.ts';
import { done, owner } from './contract.ts';

const policy = { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } as const;

export function identity(id: string, overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return { id, key: `key-of-${id}`, network: '10.0.0.0/24', createdAt: 5, state: 'untrusted', vouched: false, streak: 0, trustedChecks: 0, checksPassed: 0, checksFailed: 0, contradicted: 0, bannedAt: null, banReason: null, ...overrides };
}

function replica(job: string, index: number, attempt: string, who: string, overrides: Partial<ReplicaWrite> = {}): ReplicaWrite {
  return { job, index, attempt, identity: who, network: '10.0.0.0/24', kind: 'vote', ok: true, hash: `h${index}`, output: { v: index }, error: null, at: 100, verdict: 'pending', ...overrides };
}

export function validationContract(open: () => Promise<Store>, jobRecord: (o?: Partial<JobRecord>) => JobRecord): void {
  it('[V13] a validated job keeps its policy, its known answers and its counters (by increments)', async () => {
    const store = await open();
    const job = jobRecord({ total: 2, validation: policy });
    await store.insertJob(job, ['a', 'b'], [{ input: 'k', output: 'K', index: 1 }, { input: { x: 1 }, output: [2] }]);
    expect(await store.getJob(job.id)).toMatchObject({ validation: policy, replicas: 0, inconclusive: 0 });
    await store.commit({ tasks: [], attempts: [], jobs: [{ id: job.id, replicas: 7, inconclusive: 1, requeues: 0 }] });
    await store.commit({ tasks: [], attempts: [], jobs: [{ id: job.id, replicas: 2, inconclusive: 0, requeues: 0 }] });
    expect(await store.getJob(job.id)).toMatchObject({ replicas: 9, inconclusive: 1 });
    expect(await store.jobChecks(job.id)).toEqual([{ input: 'k', output: 'K', index: 1 }, { input: { x: 1 }, output: [2] }]);
    await store.close();
  });

  it('[V13][K4] votes are durable with their batch if their writer holds the task; a claim brings a task\'s unsettled votes', async () => {
    const store = await open();
    const job = jobRecord({ total: 3, validation: policy });
    await store.insertJob(job, [0, 1, 2]);
    await store.claimTasks(job.id, owner('m1'), 3);
    const receipt = await store.commit({
      owner: owner('m1'),
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
    expect(receipt.votes).toEqual([true, true, true, true]);
    // Another master's votes on tasks it does not hold take no effect (a check is about an identity: it does).
    const stranger = await store.commit({ owner: owner('m2'), tasks: [], jobs: [], attempts: [], replicas: [replica(job.id, 0, 'b.1', 'i_three'), replica(job.id, 0, 'b.2', 'i_three', { kind: 'check', verdict: 'failed' })] });
    expect(stranger.votes).toEqual([false, true]);
    // The same batch again (a retried commit) changes nothing.
    await store.commit({ owner: owner('m1'), tasks: [], jobs: [], attempts: [], replicas: [replica(job.id, 0, 'a.1', 'i_one', { hash: 'other' })] });
    await store.releaseClaims('m1');
    const claimed = await store.claimTasks(job.id, owner('m3'), 3);
    expect(claimed.find((t) => t.index === 0)!.votes).toEqual([
      { attempt: 'a.1', identity: 'i_one', network: '10.0.0.0/24', ok: true, output: { v: 0 }, error: null, hash: 'h0', credit: 'trust' },
      { attempt: 'a.2', identity: 'i_two', network: '10.0.0.0/24', ok: false, output: null, error: 'boom', hash: 'failed', credit: null },
    ]);
    expect(claimed.find((t) => t.index === 1)!.votes).toEqual([]);
    const detail = await store.taskDetail(job.id, 0);
    expect(detail!.replicas!.map((r) => [r.attempt, r.identity, r.kind, r.ok, r.hash, r.verdict])).toEqual([
      ['a.1', 'i_one', 'vote', true, 'h0', 'credited'],
      ['a.2', 'i_two', 'vote', false, 'failed', 'pending'],
      ['b.2', 'i_three', 'check', true, 'h0', 'failed'],
    ]);
    expect((await store.taskDetail(job.id, 2))!.replicas!.map((r) => [r.kind, r.verdict])).toEqual([['check', 'passed']]);
    await store.close();
  });

  it('[V3][V5][K5] identities change by events applied to the stored record; read one, several or by page (newest first)', async () => {
    const store = await open();
    const p = { ...DEFAULT_TRUST_POLICY, trustAfter: 2 };
    const create = (r: IdentityRecord) => ({ id: r.id, event: 'create' as const, record: r });
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [create(identity('i_a')), create(identity('i_b', { createdAt: 6 }))] });
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [create(identity('i_c', { createdAt: 7 }))] });
    // Two masters' passes compose (each applied to the record as stored), and a create never overwrites.
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [{ id: 'i_b', event: 'pass', at: 8, policy: p }] });
    const receipt = await store.commit({
      tasks: [],
      jobs: [],
      attempts: [],
      identities: [{ id: 'i_b', event: 'pass', at: 9, policy: p }, create(identity('i_b')), { id: 'i_a', event: 'fail', at: 50, reason: 'wrong result' }],
    });
    expect(receipt.identities.map((r) => [r.id, r.state, r.checksPassed])).toEqual([
      ['i_b', 'trusted', 2],
      ['i_a', 'banned', 0],
    ]);
    expect(await store.getIdentity('i_a')).toEqual({ ...identity('i_a'), state: 'banned', checksFailed: 1, bannedAt: 50, banReason: 'wrong result' });
    expect(await store.getIdentity('i_b')).toMatchObject({ state: 'trusted', streak: 2, createdAt: 6 });
    await store.commit({ tasks: [], jobs: [], attempts: [], identities: [{ id: 'i_b', event: 'vouch', at: 60 }, { id: 'i_nobody', event: 'pass', at: 61, policy: p }] });
    expect(await store.getIdentity('i_b')).toMatchObject({ state: 'trusted', vouched: true });
    expect(await store.getIdentity('i_nobody')).toBeUndefined();
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
    await store.claimTasks(job.id, owner('m'), 1);
    await store.commit({ owner: owner('m'), at: 10, tasks: [done(job.id, 0, 1)], jobs: [], attempts: [], replicas: [replica(job.id, 0, 'r.1', 'i_one', { verdict: 'accepted' })] });
    expect(await store.deleteFinishedBefore(20)).toBe(1);
    expect(await store.taskDetail(job.id, 0)).toBeUndefined();
    expect(await store.jobChecks(job.id)).toEqual([]);
    await store.close();
  });
}
