/**
 * The headless volunteer (`barnraise worker`): the shared volunteer core (shared/src/volunteer/core.ts, the
 * same one the browser page runs) over a `ws` socket and a pool of worker_threads. It joins a master like a
 * tab does, proves its identity from a file, and reconnects with jittered backoff.
 */
import WebSocket from 'ws';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { AssetGate, ConnectionState, masterOrigin, MasterMessageSchema, VolunteerCore, volunteerSocketUrl, type MasterMessage, type SocketLike, type VolunteerIdentity } from '@barnraise/shared';
import { assetCache, defaultAssetCacheDir, type AssetCacheStats } from './assets.ts';
import { ThreadPool } from './pool.ts';

export { volunteerSocketUrl };

export interface HeadlessOptions {
  /** The master's http(s) URL, or several masters' of one cluster (the next is tried when one fails). */
  url: string | readonly string[];
  threads: number;
  /** Leases held per thread; unset: adaptive (2, and 4 while tasks are short). */
  prefetch?: number;
  log?: (msg: string) => void;
  /** Join key of a private swarm (also accepted as `?key=` in `url`). */
  joinKey?: string;
  /** The identity to prove at hello (rule V1), or a promise of it; absent: anonymous. */
  identity?: VolunteerIdentity | Promise<VolunteerIdentity>;
  /** The master refused this volunteer for good (join key, protocol version, banned identity): no retry. */
  onFatal?: (code: number, reason: string) => void;
  /** Connect from this local address (tests and benchmarks on loopback give volunteers distinct networks). */
  localAddress?: string;
  /** The User-Agent this volunteer reports (the dashboard shows its family); default `node/<version>`. */
  ua?: string;
  /** Where assets are kept between runs (rule A4); default ~/.barnraise/assets. */
  assetCacheDir?: string;
}

// Compiled: Node has no CSP, and the uncompiled Value.Check cost the volunteer a visible share of its CPU at
// thousands of tasks per second (BENCHMARKS.md, dispatch against a no-op server).
const checkMasterMessage = TypeCompiler.Compile(MasterMessageSchema);

export class HeadlessVolunteer {
  private readonly pool: ThreadPool;
  private readonly core: VolunteerCore;
  /** Assets downloaded and read from the cache by this process. */
  readonly assets: AssetCacheStats;
  private stopped = false;
  /** The identity the master welcomed us with, once it has. */
  identity: string | undefined;

  constructor(private readonly opts: HeadlessOptions) {
    const log = opts.log;
    let pool: ThreadPool | undefined;
    const origins = (typeof opts.url === 'string' ? [opts.url] : opts.url).map(masterOrigin);
    const fetchAsset = assetCache({
      dir: opts.assetCacheDir ?? defaultAssetCacheDir(),
      // The master this worker is connected to first (it sent the job), then the others of its cluster.
      masters: () => [...(this.core.socketUrl ? [masterOrigin(this.core.socketUrl)] : []), ...origins],
      log,
    });
    this.assets = fetchAsset.stats;
    this.core = new VolunteerCore({
      url: (typeof opts.url === 'string' ? [opts.url] : opts.url).map((u) => volunteerSocketUrl(u, opts.joinKey)),
      connect: (url) => new WebSocket(url, opts.localAddress ? { localAddress: opts.localAddress } : {}) as unknown as SocketLike,
      // [A5] Leases wait in the gate until their job's assets are in the cache; threads read them from there.
      createPool: (events) => new AssetGate((pool = new ThreadPool(opts.threads, events)), fetchAsset, events),
      isMasterMessage: (v): v is MasterMessage => checkMasterMessage.Check(v),
      agent: 'node',
      ua: opts.ua ?? `node/${process.versions.node}`,
      ...(opts.identity ? { identity: opts.identity } : {}),
      ...(opts.prefetch !== undefined ? { prefetch: opts.prefetch } : {}),
      defer: (fn) => setImmediate(fn),
      sink: {
        connectionChanged: (state, problem) => {
          if (state === ConnectionState.connected) log?.('connected');
          else if (state === ConnectionState.failed) log?.(`refused: ${problem ?? ''}`);
        },
        attemptStarted: () => undefined,
        attemptEnded: () => undefined,
        swarmReported: () => undefined,
        workersChanged: () => undefined,
        welcomed: (id, identity) => {
          this.identity = identity;
          log?.(`joined as ${id}${identity ? ` (identity ${identity})` : ''}`);
        },
        refused: (code, reason) => {
          log?.(`refused by the master (${code} ${reason}); not retrying`);
          opts.onFatal?.(code, reason);
        },
        ...(log ? { log } : {}),
      },
    });
    this.pool = pool!;
  }

  /** True while joined to a master. */
  get online(): boolean {
    return this.core.online;
  }

  /** Tasks completed by this process (all connections). */
  get completed(): number {
    return this.core.completed;
  }

  /** Connections welcomed so far. */
  get connections(): number {
    return this.core.connections;
  }

  /** Connect once a thread has booted: leases taken before then would only wait, or be lost with us. */
  start(): void {
    void this.pool.whenReady().then(() => {
      if (!this.stopped) this.core.start(this.opts.threads);
    });
  }

  /** Vanish the way a killed process does: no close handshake, no release, threads stopped mid-task. */
  async abandon(): Promise<void> {
    this.stopped = true;
    this.pool.resize(0);
    this.core.abandon();
    await this.pool.close();
  }

  /** Leave politely: hand every lease back (not counted as lost, rule L6), close, stop the threads. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.core.stop();
    await this.pool.close();
  }
}
