/**
 * The worker pool: one compute worker per thread, leases waiting FIFO. A worker runs one attempt at a time;
 * once a job's attempts prove short, each worker is sent the next few attempts before it asks (the worker
 * runs them one after another; one behind the running one for attempts under a second), so it never waits
 * for the page's main thread between tasks: on a busy machine that thread may get the CPU only every few
 * milliseconds (issue 13). An attempt past its time limit is stopped by terminating its worker, which is
 * replaced; the attempts sent behind it go back to the front of the queue, and the other workers go on.
 * Runs on the page's main thread, so a task that never yields cannot stall the socket.
 */
import type { AttemptOutcome, PoolTask } from '@barnraise/shared';
import type { FromWorker, RunRequest } from './messages.ts';
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
  /** Attempts sent to this worker and not reported yet, in the order it runs them: the first is running. */
  sent: PoolTask[];
  /** The running attempt's time limit, armed when it became the first. */
  timer: ReturnType<typeof setTimeout> | null;
  /** Set when threads shrank while this worker was busy: it goes once its attempts end. */
  retiring: boolean;
}

/** A job whose attempts take less than this (smoothed, ms) is sent to workers several attempts ahead. */
const SHORT_MS = 4;
/**
 * A job whose attempts take less than this (and not short) is sent one attempt behind the running one, so a
 * worker starts its next attempt the moment one ends, not a hop to the page's thread and back later: with
 * every core busy, that hop waited for the page's and the frame's threads to be scheduled, and 50 ms tasks
 * left the workers idle about a tenth of the time (issue 13). Longer attempts stay one at a time: a gap of a
 * few milliseconds is nothing beside them, and a lease still on the page can be handed back (Stop, hidden).
 */
const LINE_MS = 1000;
/** About this much work (ms) sent to a worker ahead, and at most this many attempts. */
const AHEAD_MS = 8;
const MAX_AHEAD = 16;
/** Jobs whose durations are remembered; the first learned is forgotten first. */
const MAX_JOBS = 64;

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: PoolTask[] = [];
  private target = 0;
  /** Smoothed attempt duration (ms) per job; unknown means not short. */
  private readonly durations = new Map<string, number>();
  /**
   * Attempts to run alone (nothing sent behind them, nothing behind which they are sent): those of a line a
   * time limit expired on, where the worker may have held finished attempts' outcomes (worker.ts), so the one
   * that overran is found by running each on its own.
   */
  private readonly solo = new Set<string>();

  constructor(
    private readonly host: WorkerHost,
    private readonly events: PoolEvents,
  ) {}

  /** Workers alive now (busy ones that are retiring included). */
  get workers(): number {
    return this.slots.length;
  }

  /** Attempts sent to workers and not reported yet (running, or next in a worker's line). */
  get running(): number {
    return this.slots.reduce((n, s) => n + s.sent.length, 0);
  }

  /** Workers running an attempt now. */
  get busyWorkers(): number {
    return this.slots.filter((s) => s.sent.length > 0).length;
  }

  /** Leases waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Set the number of workers. Idle ones go at once, busy ones when their attempts end. */
  resize(n: number): void {
    this.target = Math.max(0, n);
    for (const s of this.slots) s.retiring = false;
    while (this.slots.length < this.target) this.slots.push(this.spawn());
    let excess = this.slots.length - this.target;
    for (const s of [...this.slots].reverse()) {
      if (excess <= 0) break;
      if (s.sent.length === 0) this.remove(s);
      else s.retiring = true;
      excess--;
    }
    this.feedAll();
    this.events.changed();
  }

  run(task: PoolTask): void {
    this.queue.push(task);
    // An idle worker first; with none, a worker whose line is short (a short job's attempts go ahead).
    const idle = this.slots.find((s) => s.sent.length === 0 && !s.retiring);
    if (idle) this.feed(idle);
    else this.feedAll();
  }

  /** Stop attempt `a` wherever it is, without an outcome. Returns true if it was here. */
  abort(a: string): boolean {
    this.solo.delete(a);
    const q = this.queue.findIndex((t) => t.a === a);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.events.changed();
      return true;
    }
    const slot = this.slots.find((s) => s.sent.some((t) => t.a === a));
    if (!slot) return false;
    // A posted attempt cannot be recalled: only a new worker stops it. The others sent there run again.
    const others = slot.sent.filter((t) => t.a !== a);
    this.replace(slot, others);
    return true;
  }

  /** Take up to `n` waiting leases, newest first (to hand back to the master). */
  takeQueued(n = this.queue.length): PoolTask[] {
    const taken = n > 0 ? this.queue.splice(Math.max(0, this.queue.length - n)) : [];
    for (const t of taken) this.solo.delete(t.a);
    if (taken.length > 0) this.events.changed();
    return taken;
  }

  /** Drop every lease, stopping running attempts; returns what was dropped (connection lost, or Stop). */
  reset(): PoolTask[] {
    const dropped = this.queue.splice(0);
    this.solo.clear();
    for (const s of [...this.slots]) {
      if (s.sent.length === 0) continue;
      dropped.push(...s.sent);
      this.replace(s, []);
    }
    this.events.changed();
    return dropped;
  }

  private spawn(): Slot {
    const slot: Slot = { handle: undefined as unknown as WorkerHandle, jobs: new Set(), sent: [], timer: null, retiring: false };
    slot.handle = this.host.spawn({
      message: (msg) => this.onMessage(slot, msg),
      error: (message) => {
        // On a line, as for a time limit: the worker may have held finished attempts' outcomes, and the crash
        // travels another way than they do (through the frame), so none is blamed until each has run alone.
        if (slot.sent.length > 1) return this.requeueSolo(slot);
        const [task] = slot.sent;
        this.replace(slot, []);
        if (task) this.events.done(task, { ok: false, error: `worker crashed: ${message}`, ms: 0 });
      },
    });
    return slot;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (typeof msg === 'object' && msg !== null && msg.t === 'dones') {
      if (Array.isArray(msg.items)) for (const m of msg.items) this.onMessage(slot, m);
      return;
    }
    const task = slot.sent[0];
    // Anything not about this worker's running attempt is late or forged: ignore it.
    if (!task || typeof msg !== 'object' || msg === null || msg.a !== task.a) return;
    if (msg.t === 'progress') {
      if (typeof msg.p === 'number') this.events.progress(task.a, msg.p);
      return;
    }
    if (msg.t === 'begin') {
      // Its module was being prepared (an interpreter's start, bounded by one time limit): the attempt's own starts now.
      this.disarm(slot);
      this.arm(slot, task);
      return;
    }
    if (msg.t !== 'done' || !isOutcome(msg.outcome)) return;
    this.disarm(slot);
    slot.sent.shift();
    this.solo.delete(task.a);
    this.learn(task.job, msg.outcome.ms);
    this.events.done(task, msg.outcome);
    // The outcome may have reset or shrunk the pool meanwhile: a slot no longer here gets nothing more.
    if (!this.slots.includes(slot)) return this.events.changed();
    if (slot.retiring && slot.sent.length === 0) this.remove(slot);
    else {
      this.begin(slot);
      this.feed(slot);
    }
    this.events.changed();
  }

  private learn(job: string, ms: number): void {
    const avg = this.durations.get(job);
    if (avg === undefined && this.durations.size >= MAX_JOBS) this.durations.delete(this.durations.keys().next().value!);
    this.durations.set(job, avg === undefined ? ms : 0.8 * avg + 0.2 * ms);
  }

  /** How many attempts of `job` a worker may have sent to it: one until the job proves shorter than LINE_MS. */
  private depth(job: string): number {
    const avg = this.durations.get(job);
    if (avg === undefined || avg >= LINE_MS) return 1;
    if (avg >= SHORT_MS) return 2;
    return Math.min(MAX_AHEAD, Math.max(2, Math.ceil(AHEAD_MS / Math.max(avg, 0.05))));
  }

  private disarm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
  }

  private remove(slot: Slot): void {
    this.disarm(slot);
    slot.sent = [];
    slot.handle.terminate();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
  }

  /**
   * Terminate a slot's worker and put a fresh one in its place (or none, if it was retiring). `requeue`: the
   * attempts sent there that must run again, back at the front of the queue in their order.
   */
  private replace(slot: Slot, requeue: PoolTask[]): void {
    const i = this.slots.indexOf(slot);
    const retiring = slot.retiring;
    this.remove(slot);
    this.queue.unshift(...requeue);
    if (i >= 0 && !retiring) this.slots.splice(i, 0, this.spawn());
    this.feedAll();
    this.events.changed();
  }

  /**
   * The slot's first attempt starts running: its time limit is armed from now (and again from the worker's
   * `begin`, when its job's module first had something to prepare).
   */
  private begin(slot: Slot): void {
    const task = slot.sent[0];
    if (!task || slot.timer) return;
    this.arm(slot, task);
    this.events.started(task);
  }

  private arm(slot: Slot, task: PoolTask): void {
    slot.timer = setTimeout(() => {
      // A line: the worker may have finished this one and be holding its outcome while it runs a later one
      // (worker.ts), so no attempt of it is blamed yet.
      if (slot.sent.length > 1) return this.requeueSolo(slot);
      this.solo.delete(task.a);
      this.replace(slot, []);
      this.events.done(task, { ok: false, error: `timed out after ${task.timeoutMs} ms`, ms: task.timeoutMs });
    }, task.timeoutMs);
  }

  /** Replace the slot's worker; each attempt of its line runs again alone, first in the queue. */
  private requeueSolo(slot: Slot): void {
    const line = [...slot.sent];
    for (const t of line) this.solo.add(t.a);
    this.replace(slot, line);
  }

  private feedAll(): void {
    for (const s of this.slots) this.feed(s);
  }

  /**
   * Send the slot's worker attempts from the head of the queue: one when it is idle, and while the head's job
   * is short, more behind the running one up to that job's depth (an even share of the queue among the
   * workers, so none sits on attempts another could start now). A busy worker is topped up once its line is
   * down to half, in one message: a message to a worker costs the page's thread about as much as a tiny
   * attempt's whole bookkeeping (the sandbox frame's workers may live in another process).
   */
  private feed(slot: Slot): void {
    if (slot.retiring || slot.sent.some((t) => this.solo.has(t.a))) return;
    const share = Math.max(1, Math.ceil((this.queue.length + this.running) / Math.max(1, this.slots.length)));
    const batch: PoolTask[] = [];
    for (;;) {
      const head = this.queue[0];
      if (!head) break;
      if (this.solo.has(head.a)) {
        if (slot.sent.length === 0 && batch.length === 0) batch.push(this.queue.shift()!);
        break;
      }
      const held = slot.sent.length + batch.length;
      const limit = Math.min(this.depth(head.job), share);
      if (held > 0 && held >= limit) break;
      if (batch.length === 0 && slot.sent.length > 0 && slot.sent.length > limit / 2) break;
      batch.push(this.queue.shift()!);
    }
    if (batch.length > 0) this.post(slot, batch);
  }

  private post(slot: Slot, tasks: PoolTask[]): void {
    const idle = slot.sent.length === 0;
    const runs: RunRequest[] = tasks.map((task) => {
      const first = !slot.jobs.has(task.job);
      slot.jobs.add(task.job);
      slot.sent.push(task);
      const hold = this.depth(task.job) > 2 ? (true as const) : undefined;
      return { t: 'run', a: task.a, job: task.job, ...(first ? { code: task.code, ...(task.assets ? { assets: task.assets } : {}) } : {}), ...(hold ? { hold } : {}), i: task.i, input: task.input };
    });
    slot.handle.post(runs.length === 1 ? runs[0]! : { t: 'runs', runs });
    if (idle) this.begin(slot);
  }
}

function isOutcome(o: unknown): o is AttemptOutcome {
  if (typeof o !== 'object' || o === null) return false;
  const r = o as Record<string, unknown>;
  return typeof r.ms === 'number' && (r.ok === true ? 'output' in r : r.ok === false && typeof r.error === 'string');
}
