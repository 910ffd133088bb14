/**
 * BullMQ's side of the comparison: `workers` Worker instances in one process on the local Redis, each
 * with `concurrency`, running the same trivial processor (n => n + 1).
 */
import { Worker } from 'bullmq';
import { exitWithParent, fail, flags, toParent } from './ipc.ts';

const f = flags(['queue', 'workers', 'concurrency', 'host', 'port']);
const connection = { host: f.host ?? '127.0.0.1', port: Number(f.port ?? 6379), maxRetriesPerRequest: null };
const workers = Array.from(
  { length: Number(f.workers ?? 8) },
  () => new Worker<{ n: number }, number>(f.queue!, async (job) => job.data.n + 1, { connection, concurrency: Number(f.concurrency ?? 1) }),
);
exitWithParent(() => Promise.all(workers.map((w) => w.close(true))).then(() => {}));
Promise.all(workers.map((w) => w.waitUntilReady()))
  .then(() => toParent({ type: 'ready' }))
  .catch(fail);
