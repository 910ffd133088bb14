/**
 * The Store contract, section K: what lets several masters share one store (claims, fencing by claim and
 * generation, master liveness, the cluster's event log). Part of storeContract, so every backend passes it.
 */
import { expect, it } from 'vitest';
import type { JobRecord, MasterStats, Store } from './store.ts';
import { done, failed, owner } from './contract.ts';

const stats: MasterStats = { volunteers: 2, threads: 4, tasksPerSecond: 10, tasksDone: 100, leased: 3 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function clusterContract(open: () => Promise<Store>, jobRecord: (o?: Partial<JobRecord>) => JobRecord): void {
  it('[K1] claims come in batches, lowest index first; a task is claimed by one master at a time', async () => {
    const store = await open();
    const job = jobRecord({ total: 5 });
    await store.insertJob(job, [0, 1, 2, 3, 4]);
    const [a, b] = await Promise.all([store.claimTasks(job.id, owner('a'), 3), store.claimTasks(job.id, owner('b'), 3)]);
    const all = [...a, ...b].map((t) => t.index).sort();
    expect(all).toEqual([0, 1, 2, 3, 4]);
    expect(a.map((t) => t.index)).toEqual([...a.map((t) => t.index)].sort());
    expect(await store.claimTasks(job.id, owner('c'), 3)).toEqual([]);
    // Given back, a task is anyone's again.
    expect(await store.releaseTasks(job.id, owner('a'), [a[0]!.index])).toBe(1);
    expect((await store.claimTasks(job.id, owner('c'), 3)).map((t) => t.index)).toEqual([a[0]!.index]);
    await store.close();
  });

  it('[K4] a write that ends a task takes effect only for the master (and generation) holding its claim', async () => {
    const store = await open();
    const job = jobRecord({ total: 3 });
    await store.insertJob(job, [0, 1, 2]);
    await store.claimTasks(job.id, owner('a'), 2); // 0 and 1
    const stranger = await store.commit({ owner: owner('b'), tasks: [done(job.id, 0), { kind: 'retry', job: job.id, index: 1, failures: 1, losses: 0, error: 'e' }], jobs: [], attempts: [] });
    expect(stranger.applied).toEqual([false, false]);
    const oldGen = await store.commit({ owner: owner('a', 0), tasks: [done(job.id, 0)], jobs: [], attempts: [] });
    expect(oldGen.applied).toEqual([false]);
    const holder = await store.commit({ owner: owner('a'), tasks: [done(job.id, 0, 'ok'), failed(job.id, 1)], jobs: [], attempts: [] });
    expect(holder.applied).toEqual([true, true]);
    expect(holder.jobs).toMatchObject([{ done: 1, failed: 1 }]);
    // Unclaimed by anyone: a fenced write does not take it either.
    expect((await store.commit({ owner: owner('a'), tasks: [done(job.id, 2)], jobs: [], attempts: [] })).applied).toEqual([false]);
    expect(await store.readResults(job.id, -1, 10)).toEqual([
      { index: 0, status: 'done', output: 'ok' },
      { index: 1, status: 'failed', error: 'boom' },
    ]);
    await store.close();
  });

  it('[K6][K4] a batch with refused writes among its final ones numbers those that took effect without holes', async () => {
    const store = await open();
    const job = jobRecord({ total: 6 });
    await store.insertJob(job, [0, 1, 2, 3, 4, 5]);
    await store.claimTasks(job.id, owner('a'), 4); // 0-3; 4 and 5 are nobody's
    await store.commit({ owner: owner('a'), tasks: [done(job.id, 1, 'one')], jobs: [], attempts: [] });
    // 1 is final already and 4 is not a's: both refused, between writes that take effect.
    const receipt = await store.commit({ owner: owner('a'), tasks: [done(job.id, 2, 'two'), done(job.id, 1, 'again'), failed(job.id, 0, 'x'), done(job.id, 4, 'four'), done(job.id, 3, 'three')], jobs: [], attempts: [] });
    expect(receipt.applied).toEqual([true, false, true, false, true]);
    expect((await store.resultsSince(job.id, 0, 10)).map((r) => [r.index, r.fin])).toEqual([
      [1, 1],
      [2, 2],
      [0, 3],
      [3, 4],
    ]);
    expect((await store.getJob(job.id))!.fin).toBe(4);
    await store.close();
  });

  it('[K3] a master gives back the claims of its older generations, or all of them; a cancel frees its job\'s', async () => {
    const store = await open();
    const job = jobRecord({ total: 6 });
    await store.insertJob(job, [0, 1, 2, 3, 4, 5]);
    await store.claimTasks(job.id, owner('a', 1), 2);
    await store.claimTasks(job.id, owner('a', 2), 2);
    await store.claimTasks(job.id, owner('b', 1), 2);
    expect(await store.releaseClaims('a', 2)).toBe(2);
    expect((await store.claimTasks(job.id, owner('c'), 10)).map((t) => t.index)).toEqual([0, 1]);
    expect(await store.releaseClaims('a')).toBe(2);
    expect((await store.claimTasks(job.id, owner('c'), 10)).map((t) => t.index)).toEqual([2, 3]);
    await store.cancelJob(job.id, 5);
    expect(await store.claimTasks(job.id, owner('d'), 10)).toEqual([]);
    await store.close();
  });

  it('[K3][J4] a job cancelled while its tasks are claimed, then reopened by a reset, has every pending task claimable again', async () => {
    const store = await open();
    const job = jobRecord({ total: 5 });
    await store.insertJob(job, [0, 1, 2, 3, 4]);
    await store.claimTasks(job.id, owner('a'), 2); // 0 and 1
    await store.commit({ owner: owner('a'), tasks: [failed(job.id, 0, 'x')], jobs: [], attempts: [] });
    await store.cancelJob(job.id, 5);
    expect(await store.resetFailed(job.id)).toBe(1);
    expect((await store.claimTasks(job.id, owner('b'), 10)).map((t) => t.index).sort()).toEqual([0, 1, 2, 3, 4]);
    await store.close();
  });

  it('[K2] masters beat on the store\'s clock; a sweep finds the silent ones, frees their claims and forgets them', async () => {
    const store = await open();
    const job = jobRecord({ total: 4 });
    await store.insertJob(job, [0, 1, 2, 3]);
    const t0 = await store.beat(owner('dead'), 'http://dead', stats);
    await store.claimTasks(job.id, owner('dead'), 2);
    await sleep(120);
    const t1 = await store.beat(owner('alive', 3), 'http://alive', { ...stats, volunteers: 7 });
    await store.claimTasks(job.id, owner('alive', 3), 1);
    expect(t1).toBeGreaterThan(t0);
    expect((await store.liveMasters(60_000)).map((m) => [m.id, m.gen, m.url, m.stats.volunteers])).toEqual([
      ['dead', 1, 'http://dead', 2],
      ['alive', 3, 'http://alive', 7],
    ]);
    expect(await store.sweep(60)).toEqual(['dead']);
    expect((await store.liveMasters(60_000)).map((m) => m.id)).toEqual(['alive']);
    // The dead master's two claims are free; the live one's is not.
    expect((await store.claimTasks(job.id, owner('new'), 10)).map((t) => t.index)).toEqual([0, 1, 3]);
    expect(await store.sweep(60_000)).toEqual([]);
    // Claims of a master that never beat (it died before its first) are as free after a sweep.
    const other = jobRecord({ total: 2 });
    await store.insertJob(other, [0, 1]);
    await store.claimTasks(other.id, owner('ghost'), 2);
    await store.sweep(60_000);
    expect((await store.claimTasks(other.id, owner('new'), 10)).map((t) => t.index)).toEqual([0, 1]);
    await store.close();
  });

  it('[K7] the cluster\'s event log comes with the commits, in order, from any master', async () => {
    const store = await open();
    await store.commit({ tasks: [], jobs: [], attempts: [], events: [{ t: 1, master: 'a', kind: 'volunteer-joined', text: 'v1 joined', volunteer: 'v1' }] });
    await store.commit({ tasks: [], jobs: [], attempts: [], events: [{ t: 2, master: 'b', kind: 'job-created', text: 'job j', job: 'j' }] });
    const all = await store.eventsSince(0, 10);
    expect(all.map((e) => [e.master, e.kind, e.text])).toEqual([
      ['a', 'volunteer-joined', 'v1 joined'],
      ['b', 'job-created', 'job j'],
    ]);
    expect(all[0]).toMatchObject({ volunteer: 'v1' });
    expect(all[0]).not.toHaveProperty('job');
    expect((await store.eventsSince(all[0]!.seq, 10)).map((e) => e.master)).toEqual(['b']);
    await store.close();
  });

  it('[K9] a batch committed twice (a retry after a commit that landed unconfirmed) is applied once and earns the same receipt', async () => {
    const store = await open();
    const job = jobRecord({ total: 3 });
    await store.insertJob(job, [0, 1, 2]);
    await store.claimTasks(job.id, owner('a'), 3);
    const batch = {
      id: 'a:1',
      owner: owner('a'),
      tasks: [done(job.id, 0, 'ok'), { kind: 'retry' as const, job: job.id, index: 1, failures: 1, losses: 0, error: 'e' }],
      jobs: [{ id: job.id, requeues: 1, replicas: 0, inconclusive: 0 }],
      attempts: [],
      events: [{ t: 1, master: 'a', kind: 'task-failed', text: 'once' }],
    };
    const first = await store.commit(batch);
    expect(first.applied).toEqual([true, true]);
    const again = await store.commit(batch);
    expect(again).toEqual(first);
    expect(await store.getJob(job.id)).toMatchObject({ done: 1, requeues: 1 });
    expect((await store.eventsSince(0, 10)).map((e) => e.text)).toEqual(['once']);
    // Another batch with the id of one before the last is a new batch: only the last is remembered.
    const next = await store.commit({ id: 'a:2', owner: owner('a'), tasks: [done(job.id, 2, 'two')], jobs: [], attempts: [] });
    expect(next.applied).toEqual([true]);
    expect((await store.commit({ ...batch, tasks: [done(job.id, 1, 'late')], jobs: [], events: [] })).applied).toEqual([true]);
    expect(await store.getJob(job.id)).toMatchObject({ done: 3, requeues: 1, status: 'completed' });
    await store.close();
  });
}
