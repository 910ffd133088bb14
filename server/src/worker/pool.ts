/**
 * A pool of worker_threads, one attempt per thread at a time, FIFO. An attempt past its time limit, or
 * aborted by the master, is stopped by terminating its thread, which is replaced; the others go on.
 */
import { Worker } from 'node:worker_threads';
import type { AttemptOutcome } from '@barnraise/shared';
import type { ThreadReply, ThreadRequest } from './thread-messages.ts';

export interface PoolTask {
  a: string;
  job: string;
  code: string;
  timeoutMs: number;
  i: number;
  input: unknown;
}

interface Slot {
  worker: Worker;
  /** The thread has booted: an attempt's time limit starts only once it can run. */
  ready: boolean;
  jobs: Set<string>;
  task: PoolTask | null;
  timer: NodeJS.Timeout | null;
}

export interface PoolEvents {
  progress(a: string, p: number): void;
  done(a: string, outcome: AttemptOutcome): void;
}

// A worker thread does not inherit the parent's loader hooks, so a small JS entry registers tsx first
// when the thread is TypeScript (running from source); a built thread.js is started directly.
const THREAD_URL = import.meta.url.endsWith('.ts') ? new URL('./thread-boot.mjs', import.meta.url) : new URL('./thread.js', import.meta.url);

export class ThreadPool {
  private readonly slots: Slot[] = [];
  private readonly queue: PoolTask[] = [];
  private closed = false;
  private markBooted: () => void = () => undefined;
  private readonly booted = new Promise<void>((resolve) => (this.markBooted = resolve));

  constructor(
    size: number,
    private readonly events: PoolEvents,
  ) {
    for (let k = 0; k < size; k++) this.slots.push(this.spawn());
  }

  /** Resolves once a thread can take attempts (so a volunteer asks for work only when it can start some). */
  whenReady(): Promise<void> {
    return this.booted;
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(THREAD_URL), ready: false, jobs: new Set(), task: null, timer: null };
    slot.worker.on('message', (r: ThreadReply) => {
      if (r.type === 'ready') {
        slot.ready = true;
        this.markBooted();
        return this.next(slot);
      }
      if (!slot.task || r.a !== slot.task.a) return;
      if (r.type === 'progress') return this.events.progress(r.a, r.p);
      this.settle(slot);
      this.events.done(r.a, r.outcome);
      this.next(slot);
    });
    slot.worker.on('error', (err) => {
      const task = slot.task;
      this.replace(slot);
      if (task) this.events.done(task.a, { ok: false, error: `thread crashed: ${err.message}`, ms: 0 });
    });
    return slot;
  }

  private settle(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.task = null;
  }

  /** Terminate a slot's thread and put a fresh one in its place. */
  private replace(slot: Slot): void {
    this.settle(slot);
    void slot.worker.terminate();
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    const fresh = this.spawn();
    this.slots[i] = fresh;
    this.next(fresh);
  }

  private next(slot: Slot): void {
    if (slot.task || !slot.ready || this.closed) return;
    const task = this.queue.shift();
    if (!task) return;
    slot.task = task;
    slot.timer = setTimeout(() => {
      this.replace(slot);
      this.events.done(task.a, { ok: false, error: `timed out after ${task.timeoutMs} ms`, ms: task.timeoutMs });
    }, task.timeoutMs);
    const req: ThreadRequest = { a: task.a, job: task.job, i: task.i, input: task.input };
    if (!slot.jobs.has(task.job)) {
      req.code = task.code;
      slot.jobs.add(task.job);
    }
    slot.worker.postMessage(req);
  }

  run(task: PoolTask): void {
    this.queue.push(task);
    const idle = this.slots.find((s) => s.ready && !s.task);
    if (idle) this.next(idle);
  }

  /** Stop an attempt wherever it is. Returns true if it was here. */
  abort(a: string): boolean {
    const q = this.queue.findIndex((t) => t.a === a);
    if (q >= 0) {
      this.queue.splice(q, 1);
      return true;
    }
    const slot = this.slots.find((s) => s.task?.a === a);
    if (!slot) return false;
    this.replace(slot);
    return true;
  }

  /** Attempts not started yet, removed from the queue (to hand back to the master). */
  drainQueue(): PoolTask[] {
    return this.queue.splice(0);
  }

  /** Drop everything (connection lost: the master has requeued it all). */
  reset(): void {
    this.queue.length = 0;
    for (const slot of [...this.slots]) if (slot.task) this.replace(slot);
  }

  get busy(): number {
    return this.slots.filter((s) => s.task).length + this.queue.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.markBooted();
    this.queue.length = 0;
    await Promise.all(this.slots.map((s) => (this.settle(s), s.worker.terminate())));
  }
}
