/**
 * The volunteer, once: the protocol of protocol.ts as the browser page and the headless worker both speak
 * it. Identity at hello (rule V1), credits (P3, P4), results batched with the credits they free, the
 * heartbeat and a silent master (P5), backoff, fatal refusals, the job cache (C1), and an adaptive prefetch.
 * Each host gives it a socket, a compute pool and a sink for what it shows; nothing here knows the DOM or
 * Node, so the whole exchange is unit-tested with fakes.
 */
import { Limits } from '../limits.ts';
import { CloseCode, PROTOCOL_VERSION, type MasterMessage, type MessageOf, type VolunteerMessage } from '../protocol.ts';
import { decodeFrame, encodeResultItem, encodeResultsFrame, FrameError, type Check } from '../codec.ts';
import { backoffMs, MASTER_SILENT_BEATS } from '../reconnect.ts';
import { leasesKept, leasesPerThread, resultsWindowMs, smoothMs } from '../prefetch.ts';
import type { AttemptOutcome, PoolTask } from '../runner.ts';
import type { VolunteerIdentity } from '../identity.ts';

// Timers exist in every host; shared/ is compiled without DOM or Node types.
declare function setTimeout(fn: () => void, ms: number): unknown;
declare function clearTimeout(id: unknown): void;

/** States of the connection to the master, as a host shows them. */
export const ConnectionState = {
  /** Not volunteering (before Start, after Stop). */
  idle: 'idle',
  connecting: 'connecting',
  connected: 'connected',
  /** Lost the master; retrying with backoff. */
  reconnecting: 'reconnecting',
  /** The master refused this volunteer for good (protocol version, join key, banned identity). */
  failed: 'failed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** An event handler the browser's and `ws`'s sockets both fit (checked bivariantly, as DOM handlers are). */
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** The parts of a WebSocket the core uses: the browser's, and `ws`'s in Node. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  /** Drop the connection with no close handshake (Node's `ws`); a browser socket has none. */
  terminate?(): void;
}

/** What a compute pool reports: the page's Web Workers and the headless worker's threads alike. */
export interface PoolEvents {
  started(task: PoolTask): void;
  progress(a: string, p: number): void;
  done(task: PoolTask, outcome: AttemptOutcome): void;
  /** Worker or attempt counts changed. */
  changed(): void;
}

/** A compute pool as the core drives it. */
export interface PoolLike {
  readonly running: number;
  readonly queued: number;
  readonly workers: number;
  /** Workers running an attempt now, where that differs from `running` (attempts sent ahead to workers). */
  readonly busyWorkers?: number;
  resize(n: number): void;
  run(task: PoolTask): void;
  abort(a: string): boolean;
  /** Take up to `n` leases that have not started (to hand back). */
  takeQueued(n?: number): PoolTask[];
  /** Drop every lease, running ones included (their work is lost); returns them. */
  reset(): PoolTask[];
}

/** Where the core reports what a host shows. */
export interface VolunteerSink {
  connectionChanged(state: ConnectionState, problem?: string): void;
  attemptStarted(jobName: string): void;
  attemptEnded(outcome: AttemptOutcome): void;
  swarmReported(frame: MessageOf<MasterMessage, 'swarm'>): void;
  workersChanged(alive: number, busy: number): void;
  /** Joined: the master's name for this connection and the identity it proved. */
  welcomed?(volunteerId: string, identity: string | undefined): void;
  /** The master refused this volunteer for good (no retry). */
  refused?(code: number, reason: string): void;
  log?(msg: string): void;
}

export interface VolunteerCoreDeps {
  /**
   * The master's volunteer WebSocket URL (see volunteerSocketUrl), or several masters' of one cluster: a
   * connection that fails or drops moves to the next (K7).
   */
  url: string | readonly string[];
  connect(url: string): SocketLike;
  createPool(events: PoolEvents): PoolLike;
  sink: VolunteerSink;
  /** Checks master frames against MasterMessageSchema (compiled in Node; Value.Check under the page's CSP). */
  isMasterMessage: Check<MasterMessage>;
  agent: 'browser' | 'node';
  ua?: string;
  /** The identity proved at hello (rule V1); a promise while it is being loaded or made. Absent: anonymous. */
  identity?: VolunteerIdentity | Promise<VolunteerIdentity>;
  /**
   * Leases held per thread. Unset: by how long tasks take (leasesPerThread, rule P3): 2 for long or unknown
   * tasks (one running, one waiting), up to 256 for tiny ones, where the round trip sets the pace.
   */
  prefetch?: number;
  now?: () => number;
  random?: () => number;
  /**
   * Run `fn` soon, after other pending events (batches results); `ms` > 0: it may wait that long, for more
   * outcomes to join the frame (short attempts, `resultsWindowMs`). Default: a timer of `ms`.
   */
  defer?: (fn: () => void, ms: number) => void;
}

/** Progress frames per attempt are at most this frequent. */
const PROGRESS_EVERY_MS = 500;
/** A connection with no challenge and welcome this long after opening is abandoned and retried. */
const WELCOME_TIMEOUT_MS = 15_000;
/** Close codes after which retrying cannot help. */
const FATAL: ReadonlySet<number> = new Set([CloseCode.VersionMismatch, CloseCode.Forbidden, CloseCode.Banned, CloseCode.BadIdentity]);
/** A network out of new identities waits longer between tries (rule V2 refills by the hour). */
const SLOW_RETRY: ReadonlySet<number> = new Set([CloseCode.TooManyIdentities]);
const OPEN = 1;

type Welcome = MessageOf<MasterMessage, 'welcome'>;
type JobFrame = MessageOf<MasterMessage, 'job'>;

export class VolunteerCore {
  private readonly pool: PoolLike;
  private readonly now: () => number;
  private readonly defer: (fn: () => void, ms: number) => void;
  private ws: SocketLike | null = null;
  private welcome: Welcome | null = null;
  private readonly jobs = new Map<string, JobFrame>();
  /** Credits the master holds for us: granted with `want`, used by each lease it sends. */
  private granted = 0;
  /** Capacity at the last reconcile (0 while not welcomed). */
  private lastCapacity = 0;
  private wantQueued = 0;
  /** Results not sent yet, each its frame item's JSON text. */
  private pending: string[] = [];
  private flushQueued = false;
  /** An attempt ended since the last reconcile: the next flush reconciles first (once for a whole batch). */
  private reconcileDue = false;
  private readonly progressSent = new Map<string, number>();
  private heartbeat: unknown = null;
  /** The beat period the armed check was timed for (P5): busy or idle. */
  private beatPeriod = 0;
  private welcomeTimer: unknown = null;
  private retryTimer: unknown = null;
  private lastHeard = 0;
  /** When this volunteer last sent any frame: every frame proves it lives (H1), so hb fills only silences. */
  private lastSent = 0;
  private failures = 0;
  /** Which of the URLs the next connection goes to. */
  private next = 0;
  private urlOfConnection: string | undefined;
  private running = false;
  private threads = 1;
  /** Threads announced in this connection's hello: the master sizes its credit cap and deadlines on it. */
  private helloThreads = 1;
  /** More threads than the hello said: drain, then say hello again with the new count. */
  private rejoining = false;
  private hidden = false;
  private pauseWhenHidden = false;
  /** Smoothed attempt duration (ms), for the adaptive prefetch. */
  private avgMs: number | undefined;

  /** Attempts that ended with an output, over every connection. */
  completed = 0;
  /** Connections welcomed so far. */
  connections = 0;

  constructor(private readonly deps: VolunteerCoreDeps) {
    this.now = deps.now ?? (() => Date.now());
    this.defer = deps.defer ?? ((fn, ms) => void setTimeout(fn, ms));
    this.pool = deps.createPool({
      started: (task) => deps.sink.attemptStarted(this.jobs.get(task.job)?.name ?? task.job),
      progress: (a, p) => this.progress(a, p),
      done: (task, outcome) => this.done(task, outcome),
      changed: () => deps.sink.workersChanged(this.pool.workers, this.pool.busyWorkers ?? this.pool.running),
    });
  }

  /** True while welcomed by a master. */
  get online(): boolean {
    return this.welcome !== null;
  }

  /** The socket URL of the connection open now (or being opened), if any: where its job's assets are (A4). */
  get socketUrl(): string | undefined {
    return this.ws ? this.urlOfConnection : undefined;
  }

  /** Start computing with `threads` (connects if needed). */
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

  /** Going away (pagehide, SIGTERM): hand leases back so the master requeues them without counting a loss (L6). */
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

  /**
   * Vanish the way a killed process does: the socket is dropped without a close handshake or a release.
   * For chaos tests.
   */
  abandon(): void {
    this.running = false;
    const ws = this.ws;
    this.dropConnection();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.pool.reset();
    if (ws?.terminate) ws.terminate();
    else ws?.close(4999, 'abandoned');
  }

  setThreads(threads: number): void {
    this.threads = threads;
    if (!this.running) return;
    this.pool.resize(threads);
    // The protocol has no frame to change the thread count of a connection, and the master sizes credits,
    // each job's lease cap (P3) and deadlines by the count in the hello. Growing past it: finish what runs,
    // then rejoin (at once when nothing is held); back at or under it before the drain ends, it stays.
    if (this.welcome) this.rejoining = threads > this.helloThreads;
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

  /** [P3] Leases held per thread: as configured, else by how long its attempts take. */
  private perThread(): number {
    return this.deps.prefetch ?? leasesPerThread(this.avgMs);
  }

  /** Leases this volunteer may hold now. */
  capacity(): number {
    if (!this.welcome || !this.running || this.rejoining || (this.hidden && this.pauseWhenHidden)) return 0;
    return Math.min(this.threads * this.perThread(), this.welcome.maxCredits);
  }

  private connect(): void {
    this.retryTimer = null;
    this.deps.sink.connectionChanged(this.failures === 0 ? ConnectionState.connecting : ConnectionState.reconnecting);
    const urls = typeof this.deps.url === 'string' ? [this.deps.url] : this.deps.url;
    const url = urls[this.next % urls.length]!;
    let ws: SocketLike;
    try {
      ws = this.deps.connect(url);
    } catch (err) {
      return this.onClose(1006, (err as Error).message);
    }
    this.ws = ws;
    this.urlOfConnection = url;
    // [V1] The master speaks first: its challenge carries the nonce the hello's identity proof signs.
    ws.onopen = () => undefined;
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onclose = (ev) => this.onClose(ev.code, ev.reason);
    ws.onerror = () => undefined; // a close event always follows; that is where we act
    this.welcomeTimer = setTimeout(() => this.giveUp('no welcome from the master'), WELCOME_TIMEOUT_MS);
  }

  private async hello(ws: SocketLike, nonce: string): Promise<void> {
    let identity: MessageOf<VolunteerMessage, 'hello'>['identity'];
    if (this.deps.identity) {
      try {
        const id = await this.deps.identity;
        const [sig, vouch] = await Promise.all([id.sign(nonce), id.vouch?.(nonce)]);
        identity = vouch === undefined ? { key: id.key, sig } : { key: id.key, sig, vouch };
      } catch (err) {
        this.deps.sink.log?.(`identity unavailable, joining anonymously: ${(err as Error).message}`);
      }
    }
    if (ws !== this.ws) return; // closed meanwhile
    this.helloThreads = this.threads;
    this.send({
      type: 'hello',
      v: PROTOCOL_VERSION,
      threads: this.threads,
      agent: this.deps.agent,
      ua: (this.deps.ua ?? '').slice(0, 512),
      hidden: this.hidden,
      ...(identity ? { identity } : {}),
    });
  }

  private onFrame(data: unknown): void {
    this.lastHeard = this.now();
    let msg: MasterMessage;
    try {
      msg = decodeFrame(String(data), this.deps.isMasterMessage);
    } catch (err) {
      if (err instanceof FrameError) return this.deps.sink.log?.(`bad frame from the master: ${err.message}`);
      throw err;
    }
    this.onMessage(msg);
    if (!this.welcome) return;
    // Timers of a hidden tab may be throttled to once a minute, but frames still arrive: beat from here too
    // (after the frame: leases it brought make the busy beat due at once).
    if (this.beatDue()) this.beat();
    // Leases arrived while the check was armed at the idle pace: check at the busy one from now on.
    if (this.heartbeat && this.beatEvery() < this.beatPeriod) this.armBeat();
  }

  private onMessage(msg: MasterMessage): void {
    switch (msg.type) {
      case 'challenge':
        if (this.ws && !this.welcome) void this.hello(this.ws, msg.nonce);
        return;
      case 'welcome':
        if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
        this.welcome = msg;
        this.failures = 0;
        this.granted = 0;
        this.connections++;
        this.startHeartbeat();
        this.deps.sink.welcomed?.(msg.volunteerId, msg.identity);
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
          else {
            const task: PoolTask = { a: lease.a, job: lease.job, code: job.code, timeoutMs: job.timeoutMs, i: lease.i, input: lease.input };
            if (job.assets?.length) task.assets = job.assets;
            this.pool.run(task);
          }
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
   * waiting leases when over (Stop, fewer threads, hidden; a longer measured task length hands back only
   * those its threads would not start within KEEP_WAITING_MS), ask for more when under.
   */
  private reconcile(): void {
    this.reconcileDue = false;
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
      // Fixed prefetch (--prefetch): capacity moves only with the threads, and what is past it goes back.
      const keep = this.deps.prefetch === undefined ? Math.min(leasesKept(cap, this.threads, this.avgMs), this.welcome.maxCredits) : cap;
      const excess = this.held() - keep;
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
    this.pending.push(encodeResultItem(task.a, outcome));
    if (outcome.ok) this.completed++;
    this.avgMs = smoothMs(this.avgMs, outcome.ms);
    this.deps.sink.attemptEnded(outcome);
    // The credits these outcomes free are counted once, just before they are sent: a thread's reply ends a
    // whole batch of attempts in one turn. A drain for a rejoin is ended by its last outcome at once.
    if (this.rejoining) this.reconcile();
    else this.reconcileDue = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Results ending in the same turn travel in one frame, with the credits they free; those of short
    // attempts wait a little for the next ones (P3), credits alone go at once.
    this.defer(() => {
      if (this.reconcileDue) this.reconcile(); // while flushQueued, its own scheduleFlush adds no other turn
      this.flushQueued = false;
      this.flush();
    }, this.pending.length > 0 ? resultsWindowMs(this.avgMs, this.perThread()) : 0);
  }

  /**
   * Send waiting results (with the credits asked for since the last frame), or the credits alone. A frame
   * carries at most maxCreditsPerConnection items and fits the master's frame limit: the master closes a
   * socket whose frame is larger, and the results in it would be lost with their leases, again and again.
   */
  private flush(): void {
    while (this.pending.length > 0) {
      const items = this.pending.splice(0, framedItems(this.pending));
      const want = Math.min(this.wantQueued, Limits.maxCreditsPerConnection);
      this.wantQueued -= want;
      this.sendText(encodeResultsFrame(items, want));
    }
    if (this.wantQueued > 0) {
      this.send({ type: 'want', n: Math.min(this.wantQueued, Limits.maxCreditsPerConnection) });
      this.wantQueued = 0;
    }
  }

  private send(msg: VolunteerMessage): void {
    this.sendText(JSON.stringify(msg));
  }

  private sendText(frame: string): void {
    if (this.ws?.readyState !== OPEN) return;
    this.ws.send(frame);
    this.lastSent = this.now();
  }

  private beat(): void {
    this.send({ type: 'hb', t: this.now() });
  }

  /**
   * [P5] The beat's period: `heartbeatMs` while holding leases (the master requeues them within 4 beats of
   * silence), the longer `idleHeartbeatMs` while holding none, so that thousands of idle volunteers cost
   * the master little.
   */
  private beatEvery(): number {
    const w = this.welcome!;
    return this.held() > 0 || this.pending.length > 0 ? w.heartbeatMs : (w.idleHeartbeatMs ?? w.heartbeatMs);
  }

  /**
   * [P5] A beat is due after a beat period with no frame sent; a volunteer sending results needs none. A
   * twentieth short of the period, because an interval timer may fire a millisecond before its period has
   * passed on the clock, and a beat skipped so would come half a period late.
   */
  private beatDue(): boolean {
    const every = this.beatEvery();
    return this.now() - this.lastSent >= every - every / 20;
  }

  private startHeartbeat(): void {
    this.stopTimers();
    this.lastHeard = this.lastSent = this.now();
    this.armBeat();
  }

  /**
   * [P5] The next check, half a beat of the period in force from now: every second while holding leases,
   * so no silence lasts 1.5 beats, and every 7.5 s while holding none, so that an idle volunteer wakes its
   * machine for this seldom (an interval at the busy pace woke it every second for nothing). Work arriving
   * while the idle check is armed re-arms it at the busy pace (`onFrame`).
   */
  private armBeat(): void {
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.beatPeriod = this.beatEvery();
    this.heartbeat = setTimeout(() => {
      this.heartbeat = null;
      // The master beats back (swarm frames) at the pace of ours: silent for 4 of our beats, it is gone.
      if (this.now() - this.lastHeard > this.beatEvery() * MASTER_SILENT_BEATS) return this.giveUp('master silent');
      if (this.beatDue()) this.beat();
      this.armBeat();
    }, this.beatPeriod / 2);
  }

  private stopTimers(): void {
    if (this.heartbeat) clearTimeout(this.heartbeat);
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.heartbeat = null;
    this.welcomeTimer = null;
  }

  /** Forget the connection and everything tied to it (the master requeues what this volunteer held). */
  private dropConnection(): void {
    this.stopTimers();
    const ws = this.ws;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Closing a socket still opening is reported as an error ('ws' emits it), and an error event with no
      // listener would be an uncaught exception in a Node volunteer.
      ws.onerror = () => undefined;
    }
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
  private giveUp(why: string): void {
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
      this.deps.sink.refused?.(code, reason);
      return this.deps.sink.connectionChanged(ConnectionState.failed, reason || `closed with code ${code}`);
    }
    // Another master of the cluster first (the next URL), and back off only once each has been tried.
    const urls = typeof this.deps.url === 'string' ? 1 : this.deps.url.length;
    this.next++;
    const delay = this.next % urls !== 0 && !SLOW_RETRY.has(code) ? 0 : backoffMs(this.failures++, 250, SLOW_RETRY.has(code) ? 60_000 : 10_000, this.deps.random);
    this.deps.sink.log?.(`disconnected (${code} ${reason}); retrying in ${Math.round(delay)} ms`);
    this.deps.sink.connectionChanged(ConnectionState.reconnecting, reason || undefined);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

/**
 * Room for a frame's envelope (type, want, brackets) under Limits.maxFrameBytes. An item alone always fits:
 * an output is at most maxResultBytes of JSON and an error maxErrorChars.
 */
const FRAME_SLACK_BYTES = 64 * 1024;

/**
 * How many of `items` (from the first) go in one `results` frame: at most maxCreditsPerConnection, and at
 * least one, as many as fit maxFrameBytes. A string's UTF-8 bytes are at most 3 per UTF-16 unit, so a
 * frame whose units are under a third of the limit fits without measuring it; beyond that it is measured.
 */
export function framedItems(items: readonly string[]): number {
  const budget = Limits.maxFrameBytes - FRAME_SLACK_BYTES;
  const n = Math.min(items.length, Limits.maxCreditsPerConnection);
  let units = 0;
  for (let k = 0; k < n; k++) units += items[k]!.length + 1;
  if (units * 3 <= budget) return n;
  const encoder = new TextEncoder();
  let bytes = 0;
  for (let k = 0; k < n; k++) {
    bytes += encoder.encode(items[k]!).length + 1;
    if (bytes > budget) return Math.max(1, k);
  }
  return n;
}
