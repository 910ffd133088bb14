/**
 * A pool of worker_threads, FIFO. A request carries one attempt, or, once a job has proven short, a batch of
 * the job's attempts queued one behind the other: a thread round trip costs the main thread ~60-100 µs,
 * more than a trivial task, and outcomes that come back in one reply leave in one `results` frame. A thread
 * running a short job's batch is sent the job's next batch ahead, so it goes on from one to the next without
 * waiting for its main thread, and batches can be large without a thread idling while the master's next
 * leases are on the wire. An attempt past its time limit, or aborted by the master, is stopped by
 * terminating its thread, which is replaced; the rest of what it held goes back to the front of the queue.
 */
import { Worker } from 'node:worker_threads';
import { MAX_PREFETCH, type AttemptOutcome, type PoolEvents, type PoolLike, type PoolTask } from '@barnraise/shared';
import { clock, RunningMark, type ThreadOutcomes, type ThreadReply, type ThreadRequest } from './thread-messages.ts';
import { threadEntry } from '../paths.ts';

export type { PoolTask };

interface Slot {
  worker: Worker;
  /** Which attempt the thread runs (counted from its start), and since when (written by the thread). */
  mark: RunningMark;
  /** The thread has booted: an attempt's time limit starts only once it can run. */
  ready: boolean;
  /** Replaced by a fresh thread: whatever this one still says is stale. */
  retired: boolean;
  jobs: Set<string>;
  /** Attempts posted to the thread and not reported yet, in the order it runs them (at most two requests' worth). */
  held: PoolTask[];
  /** Attempts posted to the thread since it started, so `held[0]` is its attempt `posted - held.length`. */
  posted: number;
  /** Attempts not reported yet of each request the thread holds: the one it runs first, the one sent ahead next. */
  requests: number[];
  /** The job of the last request posted: only more of the same job is sent ahead. */
  job: string | undefined;
  timer: NodeJS.Timeout | null;
  /** Attempts a reset dropped while they were about to finish: left to run, their outcomes not reported. */
  dropped: Set<string>;
}

export type { PoolEvents };

const THREAD_URL = threadEntry('worker');

/** A job whose attempts take less than this (smoothed) goes to threads in batches. */
const SHORT_MS = 2;
/**
 * About the work one request carries (at least two attempts): enough to spread a round trip over many
 * trivial attempts, little enough that a thread does not sit on attempts another thread, or the next
 * round trip to the master, could overlap with.
 */
const BATCH_MS = 2;
/**
 * Most attempts in one request. A thread holds two requests at most, and a volunteer at most MAX_PREFETCH
 * leases a thread (P3), so half of that: a 1-thread worker's 256 trivial leases go as two batches of 128,
 * one running, one sent ahead, instead of several round trips of 32 (about a third less CPU a task for the
 * worker's main thread, BENCHMARKS.md issue 13).
 */
const MAX_BATCH = MAX_PREFETCH / 2;
/** A reset leaves a thread to finish what it holds if that takes at most this long (ms); else it is replaced. */
const FINISH_MS = 200;
/** Jobs whose durations are remembered; the first learned is forgotten first. */
const MAX_JOBS = 64;

/** The headless volunteer's compute pool, as the shared volunteer core drives it (a fixed number of threads). */
export class ThreadPool implements PoolLike {
  private readonly slots: Slot[] = [];
  private readonly queue: PoolTask[] = [];
  /** Smoothed attempt duration (ms) per job. Unknown means not short. */
  private readonly durations = new Map<string, number>();
  private closed = false;
  private dispatchQueued = false;
  private markBooted: () => void = () => undefined;
  private readonly booted = new Promise<void>((resolve) => (this.markBooted = resolve));

  /** Requests posted to threads (observability: batching shows as fewer requests than attempts). */
  messagesPosted = 0;
  /** Replies with outcomes received from threads. */
  repliesReceived = 0;
  /** Threads started, the first ones and their replacements. */
  threadsStarted = 0;

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
    const mark = new RunningMark();
    const worker = new Worker(THREAD_URL, { workerData: mark.buffer });
    const slot: Slot = { worker, mark, ready: false, retired: false, jobs: new Set(), held: [], posted: 0, requests: [], job: undefined, timer: null, dropped: new Set() };
    this.threadsStarted++;
    worker.on('message', (r: ThreadReply) => this.onReply(slot, r));
    worker.on('error', (err) => this.onCrash(slot, err));
    return slot;
  }

  private onReply(slot: Slot, r: ThreadReply): void {
    if (slot.retired) return;
    switch (r.type) {
      case 'ready':
        slot.ready = true;
        this.markBooted();
        return this.dispatch();
      case 'progress':
        if (!slot.dropped.has(r.a) && slot.held.some((t) => t.a === r.a)) this.events.progress(r.a, r.p);
        return;
      case 'done':
        return this.onOutcomes(slot, r);
    }
  }

  /**
   * Report a reply's outcomes one by one, all in this turn, so the volunteer sends them in one frame. A
   * thread done with a request is sent the next: ahead, when it still runs the one sent ahead before.
   */
  private onOutcomes(slot: Slot, r: ThreadOutcomes): void {
    this.repliesReceived++;
    let failed = 0;
    for (let k = 0; k < r.a.length; k++) {
      const a = r.a[k]!;
      const ok = r.failed[failed] !== k;
      if (!ok) failed++;
      // Outcomes come in the order the attempts were posted, so the one reported is nearly always the first held.
      const p = slot.held[0]?.a === a ? 0 : slot.held.findIndex((t) => t.a === a);
      if (p < 0) continue;
      const task = p === 0 ? slot.held.shift()! : slot.held.splice(p, 1)[0]!;
      if (--slot.requests[0]! <= 0) slot.requests.shift();
      const ms = r.ms[k]!;
      if (slot.dropped.delete(a)) {
        this.learn(task.job, ms);
        continue;
      }
      const outcome: AttemptOutcome = ok ? { ok: true, json: r.text[k]!, ms } : { ok: false, error: r.text[k]!, ms };
      this.learn(task.job, ms);
      this.events.done(task, outcome);
    }
    if (slot.retired) return;
    if (slot.held.length === 0) {
      slot.requests.length = 0;
      this.disarm(slot);
    }
    this.dispatch();
  }

  /** The attempt running when the thread crashed fails; the rest of its request goes back to the queue. */
  private onCrash(slot: Slot, err: Error): void {
    if (slot.retired) return;
    const task = this.evict(slot, this.runningAt(slot));
    if (task && !slot.dropped.has(task.a)) this.events.done(task, { ok: false, error: `thread crashed: ${err.message}`, ms: 0 });
  }

  /**
   * Where in `held` the attempt the thread runs now is. Not always the head: the thread keeps outcomes up to
   * ~1 ms to send them together, and one stuck in an attempt cannot send those of the attempts before it.
   */
  private runningAt(slot: Slot): number {
    const k = slot.mark.get().k - (slot.posted - slot.held.length);
    return Math.max(0, Math.min(k, slot.held.length - 1));
  }

  private arm(slot: Slot, ms: number): void {
    slot.timer = setTimeout(() => this.onTimer(slot), ms);
  }

  private disarm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
  }

  /**
   * The time limit is that of the attempt running now, from when it started (the first of a request: from
   * when the request was posted). One timer per request, re-armed when it fires on an attempt that started
   * later than the one it was armed for; it may fire up to ~1 ms early.
   */
  private onTimer(slot: Slot): void {
    slot.timer = null;
    const p = this.runningAt(slot);
    const task = slot.held[p];
    if (!task) return;
    const left = slot.mark.get().since + task.timeoutMs - clock();
    if (left >= 1) return this.arm(slot, left);
    this.evict(slot, p);
    if (slot.dropped.has(task.a)) return;
    this.learn(task.job, task.timeoutMs);
    this.events.done(task, { ok: false, error: `timed out after ${task.timeoutMs} ms`, ms: task.timeoutMs });
  }

  /** Terminate a slot's thread and put a fresh one in its place. Returns the attempts it held, unreported. */
  private replace(slot: Slot): PoolTask[] {
    const held = slot.held;
    slot.held = [];
    slot.requests = [];
    slot.retired = true;
    this.disarm(slot);
    void slot.worker.terminate();
    const i = this.slots.indexOf(slot);
    if (i >= 0 && !this.closed) this.slots[i] = this.spawn();
    return held;
  }

  /**
   * Replace a slot's thread to be rid of the attempt at `p` in its request, which is returned. The others go
   * back to the queue: they did not run, or ran with their outcomes unsent and now lost, and running a
   * task again is harmless.
   */
  private evict(slot: Slot, p: number): PoolTask | undefined {
    const held = this.replace(slot);
    const [task] = held.splice(p, 1);
    this.requeue(held.filter((t) => !slot.dropped.has(t.a)));
    return task;
  }

  /** Attempts taken back from a thread go first: they were next already. */
  private requeue(tasks: PoolTask[]): void {
    if (tasks.length === 0) return;
    this.queue.unshift(...tasks);
    this.scheduleDispatch();
  }

  /** In a microtask, so the attempts of one `tasks` frame are all queued before threads take batches of them. */
  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /** Idle threads take requests first; then threads running a short job are sent its next batch ahead. */
  private dispatch(): void {
    if (this.closed) return;
    for (const slot of this.slots) if (this.idle(slot)) this.next(slot);
    for (const slot of this.slots) if (this.canTakeAhead(slot)) this.next(slot);
  }

  private idle(slot: Slot): boolean {
    return slot.ready && !slot.retired && slot.held.length === 0;
  }

  /**
   * Runs one request of a short job and holds none ahead, and the queue holds at least half a batch more of
   * that job. A few leases sent ahead one by one as they arrive would cost a hop each (a validated job's 4 a
   * thread, V6); they wait and go together once the thread is done.
   */
  private canTakeAhead(slot: Slot): boolean {
    const head = this.queue[0];
    if (!slot.ready || slot.retired || slot.requests.length !== 1 || head === undefined || head.job !== slot.job) return false;
    const batch = this.batchSize(head.job);
    return batch > 1 && this.queue.length >= batch / 2;
  }

  private next(slot: Slot): void {
    if (this.closed || !(this.idle(slot) || this.canTakeAhead(slot))) return;
    const batch = this.take();
    if (batch.length > 0) this.post(slot, batch);
  }

  /**
   * What the next request carries: the head of the queue and, when its job has proven short, the attempts of
   * that job right behind it, up to an even share of the queue among the threads that can take a request now
   * (so none idles while another holds a long batch).
   */
  private take(): PoolTask[] {
    const head = this.queue[0];
    if (!head) return [];
    const takers = Math.max(1, this.slots.filter((s) => this.idle(s) || this.canTakeAhead(s)).length);
    const most = Math.min(this.batchSize(head.job), Math.ceil(this.queue.length / takers));
    let n = 1;
    while (n < most && this.queue[n]!.job === head.job) n++;
    return this.queue.splice(0, n);
  }

  /** Attempts of a job per request: one until its tasks are known to be short, then about BATCH_MS of them. */
  private batchSize(job: string): number {
    const avg = this.durations.get(job);
    if (avg === undefined || avg >= SHORT_MS) return 1;
    return Math.min(MAX_BATCH, Math.max(2, Math.floor(BATCH_MS / avg)));
  }

  /**
   * Post a request. To an idle thread, its first attempt's time limit starts now (loading the job's module
   * counts against it) and the timer is armed; sent ahead, the thread marks the start itself, and the timer
   * armed for the running request, re-armed as it fires, covers it.
   */
  private post(slot: Slot, batch: PoolTask[]): void {
    const first = batch[0]!;
    const idle = slot.held.length === 0;
    const req: ThreadRequest = { type: 'run', job: first.job, marked: idle, a: [], i: [], input: [] };
    if (idle) {
      slot.held = batch;
      slot.mark.set(slot.posted, clock());
      this.arm(slot, first.timeoutMs);
    } else slot.held.push(...batch);
    slot.posted += batch.length;
    slot.requests.push(batch.length);
    slot.job = first.job;
    for (const t of batch) {
      req.a.push(t.a);
      req.i.push(t.i);
      req.input.push(t.input);
    }
    if (!slot.jobs.has(first.job)) {
      req.code = first.code;
      if (first.assets) req.assets = first.assets;
      slot.jobs.add(first.job);
    }
    slot.worker.postMessage(req);
    this.messagesPosted++;
  }

  private learn(job: string, ms: number): void {
    const avg = this.durations.get(job);
    if (avg === undefined && this.durations.size >= MAX_JOBS) this.durations.delete(this.durations.keys().next().value!);
    this.durations.set(job, avg === undefined ? ms : 0.8 * avg + 0.2 * ms);
  }

  run(task: PoolTask): void {
    this.queue.push(task);
    this.scheduleDispatch();
  }

  /** Stop an attempt wherever it is. Returns true if it was here. */
  abort(a: string): boolean {
    const q = this.queue.findIndex((t) => t.a === a);
    if (q >= 0) {
      this.queue.splice(q, 1);
      return true;
    }
    for (const slot of this.slots) {
      const p = slot.held.findIndex((t) => t.a === a);
      // A request cannot be changed once posted, and `a` may be the one running: only a new thread stops it.
      if (p >= 0) return this.evict(slot, p) !== undefined;
    }
    return false;
  }

  /** Attempts not started yet, removed from the queue (to hand back to the master); those in a request to a thread count as running. */
  drainQueue(): PoolTask[] {
    return this.queue.splice(0);
  }

  /** Take up to `n` attempts that have not started, the last queued first (to hand back to the master). */
  takeQueued(n = this.queue.length): PoolTask[] {
    return this.queue.splice(Math.max(0, this.queue.length - n));
  }

  /**
   * Drop everything, running attempts too; returns what was dropped. A thread whose attempts will be done
   * within FINISH_MS by their jobs' durations is left to finish them, their outcomes unreported; any other is
   * replaced. A volunteer whose master died thus goes on at once on its next master, where a fresh thread
   * took seconds to boot on a loaded machine (the cluster benchmark's kill, at the default prefetch).
   */
  reset(): PoolTask[] {
    const dropped = this.queue.splice(0);
    for (const slot of [...this.slots]) {
      const live = slot.held.filter((t) => !slot.dropped.has(t.a));
      if (live.length === 0) continue;
      dropped.push(...live);
      if (this.finishesSoon(slot)) for (const t of live) slot.dropped.add(t.a);
      else this.replace(slot);
    }
    return dropped;
  }

  private finishesSoon(slot: Slot): boolean {
    let ms = 0;
    for (const t of slot.held) ms += this.durations.get(t.job) ?? Infinity;
    return ms <= FINISH_MS;
  }

  get busy(): number {
    return this.slots.reduce((n, s) => n + s.held.length - s.dropped.size, this.queue.length);
  }

  /** Attempts posted to threads and not reported yet. */
  get running(): number {
    return this.slots.reduce((n, s) => n + s.held.length - s.dropped.size, 0);
  }

  /** Attempts waiting for a thread. */
  get queued(): number {
    return this.queue.length;
  }

  get workers(): number {
    return this.slots.length;
  }

  /**
   * The thread count is fixed at start (`--threads`); the core's resizes are for the page's pool. Resizing to
   * 0 (stop, refusal) means the threads are going: dropped attempts no longer get replacement threads.
   */
  resize(n: number): void {
    if (n === 0) this.closed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.markBooted();
    this.queue.length = 0;
    await Promise.all(
      this.slots.map((s) => {
        this.disarm(s);
        s.held = [];
        s.retired = true;
        return s.worker.terminate();
      }),
    );
  }
}
