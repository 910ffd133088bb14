/**
 * The worker pool: one compute worker per thread, one attempt per worker at a time, leases waiting FIFO.
 * An attempt past its time limit is stopped by terminating its worker, which is replaced; the other
 * workers go on. Runs on the page's main thread, so a task that never yields cannot stall the socket.
 */
import type { AttemptOutcome, PoolTask } from '@barnraise/shared';
import type { FromWorker } from './messages.ts';
import type { WorkerHandle, WorkerHost } from './host.ts';

export type { PoolTask };

export interface PoolEvents {
  started(task: PoolTask): void;
  progress(a: string, p: number): void;
  done(task: PoolTask, outcome: AttemptOutcome): void;
  /** Worker or attempt counts changed. */
  changed(): void;
}

interface Slot {
  handle: WorkerHandle;
  /** Jobs whose code this worker has loaded. */
  jobs: Set<string>;
  task: PoolTask | null;
  timer: ReturnType<typeof setTimeout> | null;
  /** Set when threads shrank while this worker was busy: it goes once its attempt ends. */
  retiring: boolean;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: PoolTask[] = [];
  private target = 0;

  constructor(
    private readonly host: WorkerHost,
    private readonly events: PoolEvents,
  ) {}

  /** Workers alive now (busy ones that are retiring included). */
  get workers(): number {
    return this.slots.length;
  }

  /** Attempts running now. */
  get running(): number {
    return this.slots.filter((s) => s.task).length;
  }

  /** Leases waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Set the number of workers. Idle ones go at once, busy ones when their attempt ends. */
  resize(n: number): void {
    this.target = Math.max(0, n);
    for (const s of this.slots) s.retiring = false;
    while (this.slots.length < this.target) this.slots.push(this.spawn());
    let excess = this.slots.length - this.target;
    for (const s of [...this.slots].reverse()) {
      if (excess <= 0) break;
      if (!s.task) this.remove(s);
      else s.retiring = true;
      excess--;
    }
    for (const s of this.slots) this.next(s);
    this.events.changed();
  }

  run(task: PoolTask): void {
    this.queue.push(task);
    const idle = this.slots.find((s) => !s.task && !s.retiring);
    if (idle) this.next(idle);
  }

  /** Stop attempt `a` wherever it is, without an outcome. Returns true if it was here. */
  abort(a: string): boolean {
    const q = this.queue.findIndex((t) => t.a === a);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.events.changed();
      return true;
    }
    const slot = this.slots.find((s) => s.task?.a === a);
    if (!slot) return false;
    this.replace(slot);
    return true;
  }

  /** Take up to `n` waiting leases, newest first (to hand back to the master). */
  takeQueued(n = this.queue.length): PoolTask[] {
    const taken = n > 0 ? this.queue.splice(Math.max(0, this.queue.length - n)) : [];
    if (taken.length > 0) this.events.changed();
    return taken;
  }

  /** Drop every lease, stopping running attempts; returns what was dropped (connection lost, or Stop). */
  reset(): PoolTask[] {
    const dropped = this.queue.splice(0);
    for (const s of [...this.slots]) {
      if (!s.task) continue;
      dropped.push(s.task);
      this.replace(s);
    }
    this.events.changed();
    return dropped;
  }

  private spawn(): Slot {
    const slot: Slot = { handle: undefined as unknown as WorkerHandle, jobs: new Set(), task: null, timer: null, retiring: false };
    slot.handle = this.host.spawn({
      message: (msg) => this.onMessage(slot, msg),
      error: (message) => {
        const task = slot.task;
        this.replace(slot);
        if (task) this.events.done(task, { ok: false, error: `worker crashed: ${message}`, ms: 0 });
      },
    });
    return slot;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    const task = slot.task;
    // Anything not about this worker's current attempt is late or forged: ignore it.
    if (!task || typeof msg !== 'object' || msg === null || msg.a !== task.a) return;
    if (msg.t === 'progress') {
      if (typeof msg.p === 'number') this.events.progress(task.a, msg.p);
      return;
    }
    if (msg.t !== 'done' || !isOutcome(msg.outcome)) return;
    this.settle(slot);
    this.events.done(task, msg.outcome);
    if (slot.retiring) this.remove(slot);
    else this.next(slot);
    this.events.changed();
  }

  private settle(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.task = null;
  }

  private remove(slot: Slot): void {
    this.settle(slot);
    slot.handle.terminate();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  /** Terminate a slot's worker and put a fresh one in its place (or none, if it was retiring). */
  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    const retiring = slot.retiring;
    this.remove(slot);
    if (i < 0 || retiring) return this.events.changed();
    const fresh = this.spawn();
    this.slots.splice(i, 0, fresh);
    this.next(fresh);
    this.events.changed();
  }

  private next(slot: Slot): void {
    if (slot.task || slot.retiring) return;
    const task = this.queue.shift();
    if (!task) return;
    slot.task = task;
    slot.timer = setTimeout(() => {
      this.replace(slot);
      this.events.done(task, { ok: false, error: `timed out after ${task.timeoutMs} ms`, ms: task.timeoutMs });
    }, task.timeoutMs);
    const first = !slot.jobs.has(task.job);
    slot.jobs.add(task.job);
    slot.handle.post({ t: 'run', a: task.a, job: task.job, ...(first ? { code: task.code, ...(task.assets ? { assets: task.assets } : {}) } : {}), i: task.i, input: task.input });
    this.events.started(task);
  }
}

function isOutcome(o: unknown): o is AttemptOutcome {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  return typeof r.ms === 'number' && (r.ok === true ? 'output' in r : r.ok === false && typeof r.error === 'string');
}
