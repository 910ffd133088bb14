/**
 * The headless volunteer: joins a master over the volunteer protocol like a browser tab does, runs tasks
 * on worker_threads, batches results, keeps the heartbeat, and reconnects with jittered backoff.
 */
import WebSocket from 'ws';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  backoffMs,
  CloseCode,
  MASTER_SILENT_BEATS,
  decodeFrame,
  JOIN_KEY_PARAM,
  MasterMessageSchema,
  PROTOCOL_VERSION,
  VOLUNTEER_PATH,
  type MasterMessage,
  type TaskOutcome,
  type VolunteerMessage,
} from '@barnraise/shared';
import { ThreadPool } from './pool.ts';

export interface HeadlessOptions {
  /** The master's http(s) URL. */
  url: string;
  threads: number;
  /**
   * Leases held per thread (1 running + the rest queued, so no thread idles for a round trip). Unset: 2, and
   * up to 4 while tasks take under SHORT_TASK_MS, where the round trip rather than the compute sets the pace.
   */
  prefetch?: number;
  log?: (msg: string) => void;
  /** Join key of a private swarm (also accepted as `?key=` in `url`). */
  joinKey?: string;
  /** The master refused this volunteer for good (wrong join key, another protocol version): no retry. */
  onFatal?: (code: number, reason: string) => void;
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSES: ReadonlySet<number> = new Set([CloseCode.Forbidden, CloseCode.VersionMismatch]);

/** The volunteer socket URL for a master's http(s) URL, keeping its query (the join key) and adding `joinKey`. */
export function volunteerSocketUrl(masterUrl: string, joinKey?: string): URL {
  const base = new URL(masterUrl.replace(/^http/, 'ws'));
  const url = new URL(VOLUNTEER_PATH, base);
  url.search = base.search;
  if (joinKey !== undefined) url.searchParams.set(JOIN_KEY_PARAM, joinKey);
  return url;
}

// Compiled: Node has no CSP, and the uncompiled Value.Check cost the volunteer a visible share of its CPU at
// thousands of tasks per second (BENCHMARKS.md, dispatch against a no-op server).
const checkMasterMessage = TypeCompiler.Compile(MasterMessageSchema);
const isMasterMessage = (v: unknown): v is MasterMessage => checkMasterMessage.Check(v);

/** Tasks faster than this get a deeper prefetch (see HeadlessOptions.prefetch). */
const SHORT_TASK_MS = 20;
const BASE_PREFETCH = 2;
const SHORT_PREFETCH = 4;

export class HeadlessVolunteer {
  private ws: WebSocket | null = null;
  private readonly pool: ThreadPool;
  private readonly codes = new Map<string, { code: string; timeoutMs: number }>();
  private pending: TaskOutcome[] = [];
  private flushQueued = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastHeard = 0;
  private failures = 0;
  private stopped = false;
  private capacity: number;
  /** Most leases this connection may hold (the master's `maxCredits`). */
  private maxCredits = 0;
  /** Smoothed task duration (ms), for the adaptive prefetch. */
  private avgMs = Infinity;
  /** True while joined to a master (socket open). */
  get online(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Tasks completed by this process (all connections). */
  completed = 0;
  /** Connections opened so far. */
  connections = 0;

  constructor(private readonly opts: HeadlessOptions) {
    this.capacity = opts.threads * (opts.prefetch ?? BASE_PREFETCH);
    this.pool = new ThreadPool(opts.threads, {
      progress: (a, p) => this.send({ type: 'progress', a, p }),
      done: (a, outcome) => {
        this.pending.push(outcome.ok ? { a, ok: true, output: outcome.output, ms: outcome.ms } : { a, ok: false, error: outcome.error, ms: outcome.ms });
        if (outcome.ok) this.completed++;
        this.avgMs = this.avgMs === Infinity ? outcome.ms : 0.8 * this.avgMs + 0.2 * outcome.ms;
        this.scheduleFlush();
      },
    });
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }

  /** Connect once a thread has booted: leases taken before then would only wait, or be lost with us. */
  start(): void {
    void this.pool.whenReady().then(() => this.connect());
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(volunteerSocketUrl(this.opts.url, this.opts.joinKey));
    this.ws = ws;
    ws.on('open', () => {
      this.connections++;
      this.lastHeard = Date.now();
      this.send({ type: 'hello', v: PROTOCOL_VERSION, threads: this.opts.threads, agent: 'node', ua: `node/${process.versions.node}` });
    });
    ws.on('message', (data) => {
      this.lastHeard = Date.now();
      let msg: MasterMessage;
      try {
        msg = decodeFrame(data.toString(), isMasterMessage);
      } catch (err) {
        this.log(`bad frame from master: ${(err as Error).message}`);
        return;
      }
      this.onMessage(msg);
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', (err) => this.log(`socket error: ${err.message}`));
  }

  private onMessage(msg: MasterMessage): void {
    switch (msg.type) {
      case 'welcome': {
        this.failures = 0;
        this.maxCredits = msg.maxCredits;
        this.capacity = Math.min(this.opts.threads * (this.opts.prefetch ?? BASE_PREFETCH), msg.maxCredits);
        this.log(`joined as ${msg.volunteerId}`);
        this.startHeartbeat(msg.heartbeatMs);
        this.send({ type: 'want', n: this.capacity });
        return;
      }
      case 'job':
        this.codes.set(msg.id, { code: msg.code, timeoutMs: msg.timeoutMs });
        return;
      case 'tasks': {
        const missing: string[] = [];
        for (const t of msg.items) {
          const job = this.codes.get(t.job);
          if (!job) missing.push(t.a);
          else this.pool.run({ a: t.a, job: t.job, code: job.code, timeoutMs: job.timeoutMs, i: t.i, input: t.input });
        }
        if (missing.length > 0) {
          this.send({ type: 'release', attempts: missing });
          this.send({ type: 'want', n: missing.length });
        }
        return;
      }
      case 'abort': {
        let freed = 0;
        for (const a of msg.attempts) if (this.pool.abort(a)) freed++;
        if (freed > 0) this.send({ type: 'want', n: freed });
        return;
      }
      case 'ack':
      case 'hb':
      case 'swarm':
        return;
    }
  }

  private startHeartbeat(everyMs: number): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      // A master silent for four beats is gone even if TCP has not noticed: start over.
      if (Date.now() - this.lastHeard > everyMs * MASTER_SILENT_BEATS) {
        this.log('master silent; reconnecting');
        this.ws?.terminate();
        return;
      }
      this.send({ type: 'hb', t: Date.now() });
    }, everyMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Adaptive prefetch: deepen it once tasks prove short. Returns the credits to add. */
  private growCapacity(): number {
    if (this.opts.prefetch !== undefined || this.avgMs >= SHORT_TASK_MS) return 0;
    const target = Math.min(this.opts.threads * SHORT_PREFETCH, this.maxCredits);
    const extra = Math.max(0, target - this.capacity);
    this.capacity += extra;
    return extra;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Results finishing in the same turn travel in one frame, with the credits they free.
    setImmediate(() => {
      this.flushQueued = false;
      const items = this.pending.splice(0, 256);
      if (items.length === 0) return;
      this.send({ type: 'results', items, want: items.length });
      const extra = this.growCapacity();
      if (extra > 0) this.send({ type: 'want', n: extra });
      if (this.pending.length > 0) this.scheduleFlush();
    });
  }

  private send(msg: VolunteerMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private onClose(code: number, reason: string): void {
    this.stopHeartbeat();
    this.ws = null;
    // The master requeued everything this connection held: drop it all and start clean.
    this.pool.reset();
    this.pending = [];
    this.codes.clear();
    if (this.stopped) return;
    if (FATAL_CLOSES.has(code)) {
      this.stopped = true;
      this.log(`refused by the master (${code} ${reason}); not retrying`);
      this.opts.onFatal?.(code, reason);
      return;
    }
    const delay = backoffMs(this.failures++);
    this.log(`disconnected (${code} ${reason}); retrying in ${Math.round(delay)} ms`);
    setTimeout(() => this.connect(), delay);
  }

  /**
   * Vanish the way a killed process does: the socket drops without a close handshake or a release, and
   * the threads stop mid-task. For chaos tests and for callers that must not wait.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    this.stopHeartbeat();
    this.ws?.terminate();
    await this.pool.close();
  }

  /** Leave politely: hand back queued leases, close, stop the threads. */
  async stop(): Promise<void> {
    this.stopped = true;
    const queued = this.pool.drainQueue().map((t) => t.a);
    if (queued.length > 0) this.send({ type: 'release', attempts: queued });
    this.ws?.close(1000, 'bye');
    this.stopHeartbeat();
    await this.pool.close();
  }
}
