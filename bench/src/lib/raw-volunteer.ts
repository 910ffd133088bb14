/**
 * A volunteer speaking the raw protocol with no worker threads: for the suite's idle swarms, recovery
 * probes and the raw-limit client. It decodes frames with JSON.parse only (no schema check), so its own
 * cost stays small next to the master's.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION, VOLUNTEER_PATH, type Lease, type MasterMessage, type TaskOutcome, type VolunteerMessage } from '@barnraise/shared';

export interface RawVolunteerOptions {
  url: string;
  threads?: number;
  agent?: 'browser' | 'node';
  /** Send `hb` every heartbeatMs from the welcome (true by default). */
  heartbeat?: boolean;
  /**
   * Beat as a volunteer that holds no lease does (rule P5): every idleHeartbeatMs of the welcome. For idle
   * swarms that never take work; a volunteer holding leases beats every heartbeatMs.
   */
  idle?: boolean;
  /** Called for every leased task; return the outcome to send back now, or nothing to hold the lease. */
  onTasks?: (items: Lease[], v: RawVolunteer) => void;
  /** Bind the client end to this local address (127.x.y.z), to spread sockets over source addresses. */
  localAddress?: string;
}

export class RawVolunteer {
  readonly ws: WebSocket;
  welcome: Extract<MasterMessage, { type: 'welcome' }> | null = null;
  closed: { code: number; reason: string } | null = null;
  /** performance.now() of the last frame this client sent. */
  lastSent = 0;
  private hb: NodeJS.Timeout | null = null;
  private readonly welcomed: Promise<void>;

  constructor(private readonly opts: RawVolunteerOptions) {
    this.ws = new WebSocket(new URL(VOLUNTEER_PATH, opts.url.replace(/^http/, 'ws')), {
      perMessageDeflate: false,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    // Errors also surface as 'close'; this listener only keeps an unhandled 'error' from throwing.
    this.ws.on('error', () => {});
    this.welcomed = new Promise((resolve, reject) => {
      this.ws.once('open', () => this.send({ type: 'hello', v: PROTOCOL_VERSION, threads: opts.threads ?? 1, agent: opts.agent ?? 'node' }));
      this.ws.on('message', (data) => {
        const msg = JSON.parse(data.toString()) as MasterMessage;
        if (msg.type === 'welcome') {
          this.welcome = msg;
          if (opts.heartbeat !== false) this.startHeartbeat(opts.idle ? (msg.idleHeartbeatMs ?? msg.heartbeatMs) : msg.heartbeatMs);
          resolve();
        } else if (msg.type === 'tasks') opts.onTasks?.(msg.items, this);
      });
      this.ws.once('error', reject);
      this.ws.once('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        this.stopHeartbeat();
        reject(new Error(`closed before welcome: ${code} ${reason.toString()}`));
      });
    });
    // A rejection nobody awaits yet (a socket closed later) must not crash the process.
    this.welcomed.catch(() => {});
  }

  /** Resolves once the master has welcomed this volunteer. */
  joined(): Promise<void> {
    return this.welcomed;
  }

  /**
   * Heartbeats with a random phase, as independent tabs would send them. An idle tab sends nothing else, so
   * it beats every period; `beatBusy` makes it beat as one holding leases does.
   */
  private startHeartbeat(everyMs: number): void {
    const first = setTimeout(() => {
      this.send({ type: 'hb' });
      this.hb = setInterval(() => this.send({ type: 'hb' }), everyMs);
    }, Math.random() * everyMs);
    this.hb = first;
  }

  /**
   * Beat as a volunteer holding leases does (P5, `shared/src/volunteer/core.ts`): at the welcome's
   * `heartbeatMs`, only into a silence of that long (a twentieth short), checked twice a beat.
   */
  beatBusy(): void {
    this.stopHeartbeat();
    const everyMs = this.welcome!.heartbeatMs;
    this.hb = setInterval(() => {
      if (performance.now() - this.lastSent >= everyMs * 0.95) this.send({ type: 'hb' });
    }, everyMs / 2);
  }

  stopHeartbeat(): void {
    if (this.hb) {
      clearTimeout(this.hb);
      clearInterval(this.hb);
    }
    this.hb = null;
  }

  send(msg: VolunteerMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(msg));
    this.lastSent = performance.now();
  }

  want(n: number): void {
    this.send({ type: 'want', n });
  }

  results(items: TaskOutcome[], want?: number): void {
    this.send(want ? { type: 'results', items, want } : { type: 'results', items });
  }

  /** Go silent: no more frames of any kind, socket left open (a frozen tab). */
  silence(): void {
    this.stopHeartbeat();
  }

  close(code = 1000): void {
    this.stopHeartbeat();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
  }

  terminate(): void {
    this.stopHeartbeat();
    this.ws.terminate();
  }
}
