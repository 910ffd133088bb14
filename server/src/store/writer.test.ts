import { afterEach, describe, expect, it } from 'vitest';
import { FakePort, makeJob } from '../testing/doubles.ts';
import { VolunteerState, type Attempt } from '../scheduler/state.ts';
import type { CommitBatch, Store } from './store.ts';
import { GroupCommit, type Committed } from './writer.ts';
import { SqliteStore } from './sqlite/store.ts';

/** A real in-memory SQLite store whose commits are counted and can be held back. */
class CountingStore extends SqliteStore {
  batches: CommitBatch[] = [];
  gate: Promise<void> = Promise.resolve();
  override async commit(batch: CommitBatch): ReturnType<SqliteStore['commit']> {
    await this.gate;
    this.batches.push(batch);
    return super.commit(batch);
  }
}

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

function setup(maxBatch = 1000) {
  const store = new CountingStore({ file: ':memory:' });
  stores.push(store);
  const committed: Committed[] = [];
  const writer = new GroupCommit(store, { intervalMs: 5, maxBatch, onCommitted: (c) => committed.push(c), onError: () => {} });
  return { store, writer, committed };
}

function attemptOf(job: ReturnType<typeof makeJob>, index: number, v: VolunteerState): Attempt {
  return { id: `a${index}`, job, index, volunteer: v, leasedAt: 0, deadline: 0, progress: 0 };
}

describe('group commit (SPEC.md D2)', () => {
  it('[D2] many results become one transaction, acknowledged only after it lands', async () => {
    const { store, writer, committed } = setup();
    const job = makeJob({ total: 100 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, Array.from({ length: job.spec.total }, (_, i) => i));
    const v = new VolunteerState('v1', new FakePort(), 1, 'node', '', 0);
    v.acks = true;
    // A volunteer that did not ask for acks at hello gets none; its results land all the same.
    const quiet = new VolunteerState('v2', new FakePort(), 1, 'node', '', 0);
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    for (let i = 0; i < 100; i++) {
      job.counts.done++;
      writer.finished(job, { index: i, status: 'done', output: i }, attemptOf(job, i, i < 90 ? v : quiet));
    }
    const flushed = writer.flush();
    await new Promise((r) => setTimeout(r, 20));
    expect(committed, 'nothing is acknowledged before the transaction lands').toHaveLength(0);
    release();
    await flushed;
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]!.tasks).toHaveLength(100);
    expect(committed[0]!.acks.get(v)).toHaveLength(90);
    expect(committed[0]!.acks.has(quiet)).toBe(false);
    expect(committed[0]!.results).toHaveLength(100);
    expect((await store.readResults(job.id, -1, 1000)).length).toBe(100);
    expect(await store.getJob(job.id)).toMatchObject({ done: 100 });
  });

  it('[D6] a done attempt that finishes its task rides on the task write; other ended attempts are rows', async () => {
    const { store, writer } = setup();
    const job = makeJob({ total: 2 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, [0, 1]);
    const v = new VolunteerState('v1', new FakePort(), 1, 'node', '', 0);
    const a0 = attemptOf(job, 0, v);
    writer.attemptEnded(a0, 'done', null, 7);
    writer.finished(job, { index: 0, status: 'done', output: 0 }, a0);
    writer.attemptEnded(attemptOf(job, 1, v), 'failed', 'boom', 8);
    writer.attemptEnded({ ...attemptOf(job, 1, v), id: 'vote' }, 'done', null, 9); // a vote: no final write of its own
    await writer.flush();
    const batch = store.batches[0]!;
    expect(batch.tasks[0]).toMatchObject({ kind: 'done', index: 0, by: { attempt: 'a0', volunteer: 'v1', leasedAt: 0, endedAt: 7 } });
    expect(batch.attempts.map((a) => [a.attempt, a.end])).toEqual([
      ['a1', 'failed'],
      ['vote', 'done'],
    ]);
  });

  it('[D6] done attempts that end before their final writes, or between them, still ride on them', async () => {
    const { store, writer } = setup();
    const job = makeJob({ total: 3 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, [0, 1, 2]);
    const v = new VolunteerState('v1', new FakePort(), 1, 'node', '', 0);
    const [a0, a1, a2] = [0, 1, 2].map((i) => attemptOf(job, i, v)) as [Attempt, Attempt, Attempt];
    writer.attemptEnded(a0, 'done', null, 10);
    writer.attemptEnded(a1, 'done', null, 11);
    writer.finished(job, { index: 1, status: 'done', output: 1 }, a1);
    writer.finished(job, { index: 0, status: 'done', output: 0 }, a0);
    writer.attemptEnded({ ...attemptOf(job, 2, v), id: 'vote' }, 'done', null, 12); // no final write of its own
    writer.attemptEnded(a2, 'done', null, 13);
    writer.finished(job, { index: 2, status: 'done', output: 2 }, a2);
    await writer.flush();
    const batch = store.batches[0]!;
    expect(batch.tasks.map((t) => (t.kind === 'done' ? [t.index, t.by?.attempt, t.by?.endedAt] : null))).toEqual([
      [1, 'a1', 11],
      [0, 'a0', 10],
      [2, 'a2', 13],
    ]);
    expect(batch.attempts.map((a) => [a.attempt, a.end])).toEqual([['vote', 'done']]);
    expect(writer.pending).toBe(0);
  });

  it('[D2] a full batch is written without waiting for the interval', async () => {
    const { store, writer } = setup(10);
    const job = makeJob({ total: 25 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, Array.from({ length: job.spec.total }, (_, i) => i));
    for (let i = 0; i < 25; i++) writer.requeued(job, i);
    await writer.flush();
    expect(store.batches.length).toBeGreaterThanOrEqual(2);
    expect(store.batches.reduce((n, b) => n + b.tasks.length, 0)).toBe(25);
  });

  it('[D2] writes arriving behind a running commit wait for its end as one batch, not one flush each', async () => {
    const { store, writer } = setup(10);
    const job = makeJob({ total: 510 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, Array.from({ length: job.spec.total }, (_, i) => i));
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    let flushes = 0;
    const flush = writer.flush.bind(writer);
    writer.flush = () => (flushes++, flush());
    for (let i = 0; i < 10; i++) writer.requeued(job, i); // a full batch: its commit starts and is held
    for (let i = 10; i < 510; i++) writer.requeued(job, i); // every one of these is past a full batch
    // Each of these used to start a flush that waited on the commit: 500 of them, all woken by each commit.
    expect(flushes).toBe(1);
    release();
    await flush();
    expect(store.batches.map((b) => b.tasks.length)).toEqual([10, 500]);
    expect(flushes).toBe(2);
  });

  it('[D2] a failed commit is retried and acknowledged only once it succeeds', async () => {
    const store = new SqliteStore({ file: ':memory:' });
    stores.push(store);
    const job = makeJob({ total: 1 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, Array.from({ length: job.spec.total }, (_, i) => i));
    let failures = 1;
    const flaky: Store = Object.create(store, {
      commit: { value: async (b: CommitBatch) => (failures-- > 0 ? Promise.reject(new Error('disk full')) : store.commit(b)) },
    });
    const committed: Committed[] = [];
    const errors: unknown[] = [];
    const writer = new GroupCommit(flaky, { intervalMs: 1, maxBatch: 100, onCommitted: (c) => committed.push(c), onError: (e) => errors.push(e) });
    writer.finished(job, { index: 0, status: 'done', output: 1 }, null);
    await writer.flush();
    expect(errors).toHaveLength(1);
    expect(committed).toHaveLength(1);
    expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'done', output: 1 }]);
  });

  it('[K8] a commit waiting out its backoff is tried at once when the store is back', async () => {
    const store = new SqliteStore({ file: ':memory:' });
    stores.push(store);
    const job = makeJob({ total: 1 });
    await store.insertJob({ ...job.spec, status: 'running', done: 0, failed: 0, requeues: 0, startedAt: 1, finishedAt: null }, [0]);
    let down = true;
    const flaky: Store = Object.create(store, {
      commit: { value: async (b: CommitBatch) => (down ? Promise.reject(new Error('database down')) : store.commit(b)) },
    });
    const errors: unknown[] = [];
    const writer = new GroupCommit(flaky, { intervalMs: 1, maxBatch: 100, onCommitted: () => {}, onError: (e) => errors.push(e) });
    writer.finished(job, { index: 0, status: 'done', output: 1 }, null);
    const flushed = writer.flush();
    // Down long enough for the backoff to reach 1.6 s (50 + 100 + ... + 800 ms).
    await new Promise((r) => setTimeout(r, 1600));
    const tries = errors.length;
    expect(tries).toBeGreaterThanOrEqual(5);
    down = false;
    const at = performance.now();
    writer.retryNow();
    await flushed;
    expect(performance.now() - at, 'tried again at once, not after the backoff').toBeLessThan(500);
    expect(errors).toHaveLength(tries);
    expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'done', output: 1 }]);
    writer.retryNow(); // nothing waiting: a no-op
  });
});
