import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { jobRecord, storeContract } from './contract.ts';
import { ThreadedStore } from './threaded.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-threaded-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(dir, `t-${n++}.db`);

storeContract('sqlite on a store thread', () => ThreadedStore.open({ file: file() }));

describe('ThreadedStore', () => {
  it('[D5] runs on its own thread: the event loop keeps turning while a large insert commits', async () => {
    const store = await ThreadedStore.open({ file: file() });
    expect(store.threadId).toBeGreaterThan(0);
    expect(store.threadId).not.toBe(threadId);
    // On the event loop (SqliteStore) this insert is one synchronous transaction: no timer can fire
    // until it returns. Here the loop is free, so the interval fires while the thread works.
    const inputs = Array.from({ length: 300_000 }, (_, i) => i);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await store.insertJob(jobRecord({ total: inputs.length }), inputs);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
    await store.close();
  });

  it('[D5] keeps call order: a read made right after a write sees it', async () => {
    const store = await ThreadedStore.open({ file: file() });
    const job = jobRecord({ total: 50 });
    const inserted = store.insertJob(job, Array.from({ length: 50 }, (_, i) => i));
    const commits = Array.from({ length: 50 }, (_, i) =>
      store.commit({ tasks: [{ kind: 'done', job: job.id, index: i, output: i * 2, failures: 0, losses: 0 }], jobs: [], attempts: [] }),
    );
    // Not awaited in between: order is the thread's, not the caller's awaiting.
    const read = store.readResults(job.id, -1, 100);
    await Promise.all([inserted, ...commits]);
    expect((await read).map((r) => r.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await store.close();
  });

  it('[D5] a store thread that dies fails only its unanswered calls; the next call starts a new thread on the same file', async () => {
    const store = await ThreadedStore.open({ file: file() });
    const job = jobRecord({ total: 2 });
    await store.insertJob(job, ['a', 'b']);
    await store.commit({ tasks: [{ kind: 'done', job: job.id, index: 0, output: 'A', failures: 0, losses: 0 }], jobs: [], attempts: [] });
    const first = store.threadId;
    // The fault: the thread ends under the store (as an out-of-memory kill of the thread would), with a
    // call posted to it that it may or may not have answered. That call must settle, not hang.
    const worker = (store as unknown as { worker: import('node:worker_threads').Worker }).worker;
    const exited = new Promise((r) => worker.once('exit', r));
    const unanswered = store.getJob(job.id).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    await worker.terminate();
    await exited;
    expect(await unanswered).toMatch(/^answered$|store thread exited/);
    await expect(store.getJob(job.id)).resolves.toMatchObject({ id: job.id });
    expect(store.threadId).not.toBe(first);
    expect(await store.readResults(job.id, -1, 10)).toEqual([{ index: 0, status: 'done', output: 'A' }]);
    await store.close();
  });

  it('[D5] rejects at open as SqliteStore would, for a path that cannot be a database', async () => {
    const notADb = path.join(dir, 'not-a-db');
    fs.writeFileSync(notADb, 'this is not a database file, it is text '.repeat(200));
    await expect(ThreadedStore.open({ file: notADb })).rejects.toThrow(/not a database/);
  });

  it('[D5] a call after close rejects instead of hanging', async () => {
    const store = await ThreadedStore.open({ file: file() });
    await store.close();
    await expect(store.getJob('x')).rejects.toThrow(/closed/);
  });
});
