/**
 * The volunteer socket client: speaks the protocol of shared/protocol.ts from the page's main thread,
 * which holds the WebSocket and the heartbeat so heavy compute in the workers cannot stall liveness.
 * Credits follow the headless worker (server/src/worker/volunteer.ts): `want` up to capacity after
 * `welcome`, one credit back per result, `pause` + `release` when capacity drops. The socket, the pool and
 * the clock are injected, so the whole exchange is unit-tested in Node.
 */
// The bare Check rather than the Value namespace object, which would pull every Value operator into the bundle.
import { Check } from '@sinclair/typebox/value';
import {
  backoffMs,
  CloseCode,
  decodeFrame,
  FrameError,
  Limits,
  MASTER_SILENT_BEATS,
  MasterMessageSchema,
  PROTOCOL_VERSION,
  type AttemptOutcome,
  type MasterMessage,
  type MessageOf,
  type TaskOutcome,
  type VolunteerMessage,
} from '@barnraise/shared';
import type { PoolEvents, PoolTask } from '../sandbox/pool.ts';
import { ConnectionState } from './connection.ts';

/** Leases held per thread: one running and one waiting, so no worker idles for a round trip. */
export const PREFETCH = 2;
/** Progress frames per attempt are at most this frequent. */
const PROGRESS_EVERY_MS = 500;
/** A connection that has not been welcomed this long is abandoned and retried. */
const WELCOME_TIMEOUT_MS = 15_000;
/** Close codes after which retrying cannot help. */
const FATAL = new Set<number>([CloseCode.VersionMismatch, CloseCode.Forbidden]);

// Value.Check (as Check), not TypeCompiler: the page's Content-Security-Policy forbids eval.
const isMasterMessage = (v: unknown): v is MasterMessage => Check(MasterMessageSchema, v);

/** The parts of a browser WebSocket the client uses. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
}

/** The worker pool as the client drives it (WorkerPool). */
export interface PoolLike {
  readonly running: number;
  readonly queued: number;
  readonly workers: number;
  resize(n: number): void;
  run(task: PoolTask): void;
  abort(a: string): boolean;
  takeQueued(n?: number): PoolTask[];
  reset(): PoolTask[];
}

/** Where the client reports what the page shows (the store implements it). */
export interface ClientSink {
  connectionChanged(state: ConnectionState, problem?: string): void;
  attemptStarted(jobName: string): void;
  attemptEnded(outcome: AttemptOutcome): void;
  swarmReported(frame: MessageOf<MasterMessage, 'swarm'>): void;
  workersChanged(alive: number, busy: number): void;
}

export interface ClientDeps {
  /** The master's WebSocket URL for volunteers. */
  url: string;
  connect(url: string): SocketLike;
  createPool(events: PoolEvents): PoolLike;
  sink: ClientSink;
  now?: () => number;
  random?: () => number;
  /** Run `fn` soon, after other pending events (batches results). */
  defer?: (fn: () => void) => void;
  ua?: string;
}

const OPEN = 1;

export class VolunteerClient {
  private readonly pool: PoolLike;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private ws: SocketLike | null = null;
  private welcome: MessageOf<MasterMessage, 'welcome'> | null = null;
  private readonly jobs = new Map<string, MessageOf<MasterMessage, 'job'>>();
  /** Credits the master holds for us: granted with `want`, used by each lease it sends. */
  private granted = 0;
  /** Capacity at the last reconcile (0 while not welcomed). */
  private lastCapacity = 0;
  private wantQueued = 0;
  private pending: TaskOutcome[] = [];
  private flushQueued = false;
  private readonly progressSent = new Map<string, number>();
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private welcomeTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  private lastBeat = 0;
  private failures = 0;
  private running = false;
  private threads = 1;
  /** Threads announced in this connection's hello: the master sizes its credit cap and deadlines on it. */
  private helloThreads = 1;
  /** More threads than the master's credits can feed: drain, then say hello again with the new count. */
  private rejoining = false;
  private hidden = false;
  private pauseWhenHidden = false;

  constructor(private readonly deps: ClientDeps) {
    this.now = deps.now ?? (() => Date.now());
    this.defer = deps.defer ?? ((fn) => setTimeout(fn, 0));
    this.pool = deps.createPool({
      started: (task) => deps.sink.attemptStarted(this.jobs.get(task.job)?.name ?? task.job),
      progress: (a, p) => this.progress(a, p),
      done: (task, outcome) => this.done(task, outcome),
      changed: () => deps.sink.workersChanged(this.pool.workers, this.pool.running),
    });
  }

  /** Start computing with `threads` workers (connects if needed). */
  start(threads: number): void {
    this.running = true;
    this.threads = threads;
    this.pool.resize(threads);
    if (!this.ws && !this.retryTimer) this.connect();
    else this.reconcile();
  }

  /** Stop computing: credits taken back, every lease handed back, workers and socket closed. */
  stop(): void {
    this.running = false;
    this.pool.resize(0);
    this.leave('stopped');
    this.deps.sink.connectionChanged(ConnectionState.idle);
  }

  /** The page is going away (pagehide): hand leases back so the master requeues them without a loss. */
  leave(reason = 'leaving'): void {
    const dropped = this.pool.reset().map((t) => t.a);
    this.flush();
    if (this.welcome) {
      this.send({ type: 'pause' });
      for (let k = 0; k < dropped.length; k += Limits.maxCreditsPerConnection) {
        this.send({ type: 'release', attempts: dropped.slice(k, k + Limits.maxCreditsPerConnection) });
      }
    }
    const ws = this.ws;
    this.dropConnection();
    ws?.close(1000, reason);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  setThreads(threads: number): void {
    this.threads = threads;
    if (!this.running) return;
    this.pool.resize(threads);
    // The protocol has no frame to change the thread count of a connection, and the master caps credits by
    // the count in the hello. Growing past what those credits feed: finish what runs, then rejoin.
    if (this.welcome && threads > this.helloThreads && threads * PREFETCH > this.welcome.maxCredits) this.rejoining = true;
    this.reconcile();
  }

  setHidden(hidden: boolean): void {
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    if (this.welcome) this.send({ type: 'visibility', hidden });
    this.reconcile();
  }

  setPauseWhenHidden(on: boolean): void {
    this.pauseWhenHidden = on;
    this.reconcile();
  }

  /** Leases this tab may hold now. */
  capacity(): number {
    if (!this.welcome || !this.running || this.rejoining || (this.hidden && this.pauseWhenHidden)) return 0;
    return Math.min(this.threads * PREFETCH, this.welcome.maxCredits);
  }

  private connect(): void {
    this.retryTimer = null;
    this.deps.sink.connectionChanged(this.failures === 0 ? ConnectionState.connecting : ConnectionState.reconnecting);
    let ws: SocketLike;
    try {
      ws = this.deps.connect(this.deps.url);
    } catch (err) {
      return this.onClose(1006, (err as Error).message);
    }
    this.ws = ws;
    ws.onopen = () => {
      this.helloThreads = this.threads;
      this.send({ type: 'hello', v: PROTOCOL_VERSION, threads: this.threads, agent: 'browser', ua: (this.deps.ua ?? '').slice(0, 512), hidden: this.hidden });
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => this.onClose(ev.code, ev.reason);
    ws.onerror = () => {}; // a close event always follows; that is where we act
    this.welcomeTimer = setTimeout(() => this.abandon('no welcome from the master'), WELCOME_TIMEOUT_MS);
  }

  private onFrame(data: unknown): void {
    this.lastHeard = this.now();
    let msg: MasterMessage;
    try {
      msg = decodeFrame(String(data), isMasterMessage);
    } catch (err) {
      if (err instanceof FrameError) return console.warn(`barnraise: ${err.message}`);
      throw err;
    }
    // Timers of a hidden tab may be throttled to once a minute, but frames still arrive: beat from here too.
    if (this.welcome && this.lastHeard - this.lastBeat >= this.welcome.heartbeatMs) this.beat();
    this.onMessage(msg);
  }

  private onMessage(msg: MasterMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
        this.welcome = msg;
        this.failures = 0;
        this.granted = 0;
        this.startHeartbeat(msg.heartbeatMs);
        this.deps.sink.connectionChanged(ConnectionState.connected);
        return this.reconcile();
      case 'job':
        this.jobs.set(msg.id, msg);
        return;
      case 'tasks': {
        this.granted = Math.max(0, this.granted - msg.items.length);
        const unknown: string[] = [];
        for (const lease of msg.items) {
          const job = this.jobs.get(lease.job);
          if (!job || !this.running) unknown.push(lease.a);
          else this.pool.run({ a: lease.a, job: lease.job, code: job.code, timeoutMs: job.timeoutMs, i: lease.i, input: lease.input });
        }
        if (unknown.length > 0) this.send({ type: 'release', attempts: unknown });
        return this.reconcile();
      }
      case 'abort':
        for (const a of msg.attempts) this.pool.abort(a);
        return this.reconcile();
      case 'swarm':
        return this.deps.sink.swarmReported(msg);
      case 'ack':
      case 'hb':
        return;
    }
  }

  /**
   * Bring the leases held plus the credits granted back to capacity: take credits back and release
   * waiting leases when over (Stop, fewer threads, hidden), ask for more when under.
   */
  private reconcile(): void {
    if (!this.welcome) return;
    if (this.rejoining && this.held() === 0) return this.rejoin();
    const cap = this.capacity();
    // Falling to nothing (hidden and paused) is said with a pause even when no credit seems left, so the
    // master's view cannot keep a credit this count missed.
    const emptied = cap === 0 && this.lastCapacity > 0;
    this.lastCapacity = cap;
    if (this.held() + this.granted > cap || emptied) {
      if (this.granted > 0 || emptied) {
        this.flush(); // results first, so their credits are not granted after the pause
        this.send({ type: 'pause' });
        this.granted = 0;
        this.wantQueued = 0;
      }
      const excess = this.held() - cap;
      if (excess > 0) {
        const released = this.pool.takeQueued(Math.min(excess, this.pool.queued)).map((t) => t.a);
        if (released.length > 0) this.send({ type: 'release', attempts: released });
      }
    }
    const deficit = cap - this.held() - this.granted;
    if (deficit > 0) {
      this.granted += deficit;
      this.wantQueued += deficit;
      this.scheduleFlush();
    }
  }

  private held(): number {
    return this.pool.running + this.pool.queued;
  }

  private progress(a: string, p: number): void {
    const t = this.now();
    if (p < 1 && t - (this.progressSent.get(a) ?? 0) < PROGRESS_EVERY_MS) return;
    this.progressSent.set(a, t);
    this.send({ type: 'progress', a, p });
  }

  private done(task: PoolTask, outcome: AttemptOutcome): void {
    this.progressSent.delete(task.a);
    this.pending.push(outcome.ok ? { a: task.a, ok: true, output: outcome.output, ms: outcome.ms } : { a: task.a, ok: false, error: outcome.error, ms: outcome.ms });
    this.deps.sink.attemptEnded(outcome);
    this.reconcile();
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Results ending in the same turn travel in one frame, with the credits they free.
    this.defer(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Send waiting results (with the credits asked for since the last frame), or the credits alone. */
  private flush(): void {
    while (this.pending.length > 0) {
      const items = this.pending.splice(0, Limits.maxCreditsPerConnection);
      const want = Math.min(this.wantQueued, Limits.maxCreditsPerConnection);
      this.wantQueued -= want;
      this.send(want > 0 ? { type: 'results', items, want } : { type: 'results', items });
    }
    if (this.wantQueued > 0) {
      this.send({ type: 'want', n: Math.min(this.wantQueued, Limits.maxCreditsPerConnection) });
      this.wantQueued = 0;
    }
  }

  private send(msg: VolunteerMessage): void {
    if (this.ws?.readyState === OPEN) this.ws.send(JSON.stringify(msg));
  }

  private beat(): void {
    this.lastBeat = this.now();
    this.send({ type: 'hb', t: this.lastBeat });
  }

  private startHeartbeat(everyMs: number): void {
    this.stopTimers();
    this.lastHeard = this.lastBeat = this.now();
    this.heartbeat = setInterval(() => {
      if (this.now() - this.lastHeard > everyMs * MASTER_SILENT_BEATS) return this.abandon('master silent');
      this.beat();
    }, everyMs);
  }

  private stopTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.heartbeat = null;
    this.welcomeTimer = null;
  }

  /** Forget the connection and everything tied to it (the master requeues what this tab held). */
  private dropConnection(): void {
    this.stopTimers();
    const ws = this.ws;
    if (ws) ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this.ws = null;
    this.welcome = null;
    this.granted = 0;
    this.lastCapacity = 0;
    this.rejoining = false;
    this.wantQueued = 0;
    this.pending = [];
    this.progressSent.clear();
    this.jobs.clear();
  }

  /** Drained: close this connection politely and open one whose hello has the new thread count. */
  private rejoin(): void {
    this.rejoining = false;
    this.leave('rejoining with more threads');
    this.connect();
  }

  /** Give up on a connection that looks dead without waiting for TCP to agree. */
  private abandon(why: string): void {
    const ws = this.ws;
    this.onClose(4900, why);
    ws?.close();
  }

  private onClose(code: number, reason: string): void {
    this.dropConnection();
    this.pool.reset();
    if (!this.running) return this.deps.sink.connectionChanged(ConnectionState.idle);
    if (FATAL.has(code)) {
      this.running = false;
      this.pool.resize(0);
      return this.deps.sink.connectionChanged(ConnectionState.failed, reason || `closed with code ${code}`);
    }
    const delay = backoffMs(this.failures++, 250, 10_000, this.deps.random);
    this.deps.sink.connectionChanged(ConnectionState.reconnecting, reason || undefined);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
