/**
 * The store thread: owns the one SqliteStore connection and runs every call in arrival order. Blocking
 * here (a transaction's fsync with synchronous=FULL, a million-row insert) no longer stalls the master's
 * event loop, which goes on leasing and reading frames while the disk syncs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore, type SqliteOptions } from './sqlite/store.ts';
import { toWire, type StoreCall, type StoreReply } from './thread-messages.ts';
import { packClaims, packReceipt, unpackBatch, type PackedBatch } from './wire.ts';

const port = parentPort!;
const reply = (r: StoreReply) => port.postMessage(r);

let store: SqliteStore;
try {
  store = new SqliteStore(workerData as SqliteOptions);
} catch (err) {
  reply({ type: 'failed-to-open', error: toWire(err) });
  throw err;
}

port.on('message', async ({ id, method, args }: StoreCall) => {
  try {
    // The hot calls cross in columns (wire.ts).
    if (method === 'commit') return reply({ type: 'result', id, value: packReceipt(await store.commit(unpackBatch(args[0] as PackedBatch))) });
    if (method === 'claimTasks') return reply({ type: 'result', id, value: packClaims(await store.claimTasks(...(args as Parameters<SqliteStore['claimTasks']>))) });
    const fn = store[method] as (...a: unknown[]) => Promise<unknown>;
    const value = await fn.apply(store, args);
    reply({ type: 'result', id, value });
  } catch (err) {
    reply({ type: 'error', id, error: toWire(err) });
  }
  if (method === 'close') port.close();
});

reply({ type: 'ready' });
