/**
 * One scripted volunteer of the validation benchmark: the shared VolunteerCore (the one the page and
 * `barnraise worker` run) over a `ws` socket bound to its own loopback address, with its own ephemeral
 * identity (optionally vouched), and an inline pool whose output is its role's behaviour (sim.ts's). A
 * sleeper learns its own trust as a volunteer could from the dashboard: GET /api/identities/:id, polled.
 */
import WebSocket from 'ws';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CloseCode, MasterMessageSchema, VolunteerCore, volunteerSocketUrl, type MasterMessage, type SocketLike } from '@barnraise/shared';
import { ephemeralIdentity } from '../../../server/src/worker/identity.ts';
import { InlinePool } from './inline-pool.ts';
import { behaviorOf, wakesAt, type Role } from './validation-scenarios.ts';

const checkMasterMessage = TypeCompiler.Compile(MasterMessageSchema);

/**
 * How often a sleeper reads its own trust. A 10,000-task job takes about a second here, so a sleeper that
 * read it every second would mostly never wake; every 100 ms (20 sleepers: 200 requests a second).
 */
export const SLEEPER_POLL_MS = 100;

export interface ScriptedOptions {
  /** The master's http URL. */
  url: string;
  /** Operator token: a sleeper reads its trust with it (the dashboard shows a volunteer the same). */
  token: string;
  role: Role;
  /** Source address of the socket (127.A.B.1: its own /24). */
  localAddress: string;
  /** The operator's vouch key: this volunteer is the operator's own machine (rule V3). */
  vouchKey?: string;
  /** The master refused it for good (banned: 4032, or another fatal code). */
  onRefused?: (v: ScriptedVolunteer, code: number) => void;
}

export class ScriptedVolunteer {
  private readonly core: VolunteerCore;
  /** The socket of the current connection (a dropper terminates it). */
  private socket: WebSocket | null = null;
  /** Leases a dropper dropped, by dropping its socket. */
  dropped = 0;
  private poll: NodeJS.Timeout | null = null;
  /** The identity the master welcomed it with. */
  identity: string | undefined;
  /** A sleeper that reached the trust it waits for (it lies from then on). */
  awake = false;
  /** Close code of a refusal for good, if any. */
  refusedWith: number | null = null;
  /**
   * Leases whose input was null. Every input of the benchmark's jobs is a number, so any is a master bug
   * (a known-answer check once arrived so, and honest volunteers were banned for answering 0).
   */
  nullInputs = 0;

  constructor(readonly opts: ScriptedOptions) {
    const behave = behaviorOf(opts.role);
    const wakes = wakesAt(opts.role);
    this.core = new VolunteerCore({
      url: volunteerSocketUrl(opts.url),
      connect: (url) => {
        const ws = new WebSocket(url, { localAddress: opts.localAddress });
        // The core listens for errors while the socket is its own; one a dropper's terminate raises after
        // that must not take the whole swarm down.
        ws.on('error', () => undefined);
        this.socket = ws;
        return ws as unknown as SocketLike;
      },
      createPool: (events) =>
        new InlinePool(1, events, (task) => {
          // Computed from the lease's input, as real job code is: a check looks like any other task.
          if (task.input === null) this.nullInputs++;
          if (opts.role === 'dropper') {
            // Gone with every lease it holds, as a closed tab would be; the core comes back after its backoff.
            this.dropped++;
            if (this.socket?.readyState === WebSocket.OPEN) this.socket.terminate();
            return { ok: false, error: 'dropped' };
          }
          return behave({ job: task.job, index: task.i, input: task.input, trusted: this.awake, seasoned: this.awake, random: Math.random });
        }),
      isMasterMessage: (v): v is MasterMessage => checkMasterMessage.Check(v),
      agent: 'node',
      ua: 'barnraise-bench scripted volunteer',
      identity: ephemeralIdentity(opts.vouchKey),
      defer: (fn) => setImmediate(fn),
      sink: {
        connectionChanged: () => undefined,
        attemptStarted: () => undefined,
        attemptEnded: () => undefined,
        swarmReported: () => undefined,
        workersChanged: () => undefined,
        welcomed: (_id, identity) => {
          this.identity = identity;
          if (wakes && !this.poll) this.poll = setInterval(() => void this.readTrust(wakes), SLEEPER_POLL_MS);
        },
        refused: (code) => {
          this.refusedWith = code;
          this.stopPolling();
          opts.onRefused?.(this, code);
        },
      },
    });
  }

  get online(): boolean {
    return this.core.online;
  }

  get banned(): boolean {
    return this.refusedWith === CloseCode.Banned;
  }

  /** Results it returned, over every connection. */
  get completed(): number {
    return this.core.completed;
  }

  start(): void {
    this.core.start(1);
  }

  /** Leave politely (leases handed back) and stop reading trust. */
  stop(): void {
    this.stopPolling();
    this.core.stop();
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  private async readTrust(wakes: ReadonlySet<string>): Promise<void> {
    if (this.awake || !this.identity) return;
    try {
      const res = await fetch(`${this.opts.url}/api/identities/${this.identity}`, {
        headers: { authorization: `Bearer ${this.opts.token}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return;
      const row = (await res.json()) as { trust: string };
      if (wakes.has(row.trust)) {
        this.awake = true;
        this.stopPolling();
      }
    } catch {
      // the master is busy or gone: read again on the next tick
    }
  }
}
