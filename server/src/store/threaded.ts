/**
 * The SQLite store on its own thread (rule D5). better-sqlite3 is synchronous: on the event loop, every
 * group commit's fsync and every large insert stalled dispatch, acks and heartbeats for its duration
 * (BENCHMARKS.md, dispatch on disk against tmpfs). Here each Store call is posted to a worker thread that
 * owns the connection and runs calls one at a time, in order, so a call sees every call made before it;
 * a promise still resolves only once its transaction is durable, so "acknowledged only when durable"
 * (rule D2) holds as before.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteOptions } from './sqlite/store.ts';
import type { Store } from './store.ts';
import { fromWire, type StoreCall, type StoreMethod, type StoreReply } from './thread-messages.ts';
import { packBatch, unpackClaims, unpackReceipt, type PackedClaims, type PackedReceipt } from './wire.ts';
import { threadEntry } from '../paths.ts';

const THREAD_URL = threadEntry('store');

type Args<M extends StoreMethod> = Parameters<Store[M]>;
type Value<M extends StoreMethod> = Awaited<ReturnType<Store[M]>>;

interface Waiting {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class ThreadedStore implements Store {
  private worker: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly opts: SqliteOptions) {}

  /** Open the database on a new thread; rejects as SqliteStore's constructor would (bad path, bad file). */
  static async open(opts: SqliteOptions): Promise<ThreadedStore> {
    const store = new ThreadedStore(opts);
    await store.thread();
    return store;
  }

  /** The store thread's id (0 never: the work is off the event loop's thread). */
  /** Calls sent to the store thread and not answered yet (the store's queue, for metrics). */
  get waitingCalls(): number {
    return this.waiting.size;
  }

  get threadId(): number {
    return this.worker?.threadId ?? -1;
  }

  /** The running thread, started (again) when needed: a thread that died is replaced on the next call. */
  private thread(): Promise<Worker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.starting ??= new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(THREAD_URL, { workerData: this.opts });
      worker.on('message', (r: StoreReply) => {
        switch (r.type) {
          case 'ready':
            this.worker = worker;
            this.starting = null;
            return resolve(worker);
          case 'failed-to-open':
            this.starting = null;
            return reject(fromWire(r.error));
          case 'result':
          case 'error': {
            const w = this.waiting.get(r.id);
            this.waiting.delete(r.id);
            if (r.type === 'result') w?.resolve(r.value);
            else w?.reject(fromWire(r.error));
          }
        }
      });
      worker.on('error', (err) => this.lost(worker, err));
      worker.on('exit', (code) => this.lost(worker, new Error(`store thread exited with code ${code}`)));
      worker.once('exit', () => {
        if (this.starting && this.worker !== worker) {
          this.starting = null;
          reject(new Error('store thread exited while opening the database'));
        }
      });
    });
    return this.starting;
  }

  /**
   * The thread is gone: what it had not answered may or may not have committed, so those calls fail (a
   * group commit retries its batch; the SQL is idempotent for a batch that did land).
   */
  private lost(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }

  private async call<M extends StoreMethod>(method: M, args: Args<M>): Promise<Value<M>> {
    if (this.closed) throw new Error('store is closed');
    const worker = await this.thread();
    const id = this.nextId++;
    return new Promise<Value<M>>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  }

  insertJob(...args: Args<'insertJob'>) {
    return this.call('insertJob', args);
  }
  async commit(...[batch]: Args<'commit'>) {
    // In columns: the hot call's batch and receipt cross the thread boundary as typed arrays (wire.ts).
    return unpackReceipt((await this.call('commit', [packBatch(batch)] as never)) as unknown as PackedReceipt);
  }
  getJob(...args: Args<'getJob'>) {
    return this.call('getJob', args);
  }
  listJobs(...args: Args<'listJobs'>) {
    return this.call('listJobs', args);
  }
  activeJobs(...args: Args<'activeJobs'>) {
    return this.call('activeJobs', args);
  }
  jobChecks(...args: Args<'jobChecks'>) {
    return this.call('jobChecks', args);
  }
  cancelJob(...args: Args<'cancelJob'>) {
    return this.call('cancelJob', args);
  }
  readResults(...args: Args<'readResults'>) {
    return this.call('readResults', args);
  }
  resultsSince(...args: Args<'resultsSince'>) {
    return this.call('resultsSince', args);
  }
  sampleResults(...args: Args<'sampleResults'>) {
    return this.call('sampleResults', args);
  }
  taskDetail(...args: Args<'taskDetail'>) {
    return this.call('taskDetail', args);
  }
  resetFailed(...args: Args<'resetFailed'>) {
    return this.call('resetFailed', args);
  }
  async claimTasks(...args: Args<'claimTasks'>) {
    return unpackClaims((await this.call('claimTasks', args)) as unknown as PackedClaims);
  }
  releaseTasks(...args: Args<'releaseTasks'>) {
    return this.call('releaseTasks', args);
  }
  releaseClaims(...args: Args<'releaseClaims'>) {
    return this.call('releaseClaims', args);
  }
  beat(...args: Args<'beat'>) {
    return this.call('beat', args);
  }
  sweep(...args: Args<'sweep'>) {
    return this.call('sweep', args);
  }
  liveMasters(...args: Args<'liveMasters'>) {
    return this.call('liveMasters', args);
  }
  eventsSince(...args: Args<'eventsSince'>) {
    return this.call('eventsSince', args);
  }
  deleteFinishedBefore(...args: Args<'deleteFinishedBefore'>) {
    return this.call('deleteFinishedBefore', args);
  }
  getIdentity(...args: Args<'getIdentity'>) {
    return this.call('getIdentity', args);
  }
  getIdentities(...args: Args<'getIdentities'>) {
    return this.call('getIdentities', args);
  }
  listIdentities(...args: Args<'listIdentities'>) {
    return this.call('listIdentities', args);
  }

  /** Close the database after every call made before this one, then end the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    const worker = this.worker;
    if (!worker) {
      this.closed = true;
      return;
    }
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    try {
      await this.call('close', []);
    } finally {
      this.closed = true;
      // The thread ends by itself once its port closes; terminate only one that does not.
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
}
