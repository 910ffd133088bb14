/**
 * A master for one benchmark: `barnraise serve` as a user runs it (the build, BARNRAISE_BIN) as a child
 * process on a free loopback port with its own data dir, its PID held. Optionally with the V8 inspector on loopback, so the
 * suite can read the master's heap (GC first) without any change to the product.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { BARNRAISE_BIN, REPO_ROOT, spawnNode, stopProcess, waitUntil, type OutputTail } from './proc.ts';
import type { ChildProcess } from 'node:child_process';

/** Where the master keeps its database (server/src/server.ts DB_FILE). */
export const DB_FILE = 'barnraise.db';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface MasterOptions {
  /** Extra environment (BARNRAISE_* settings). */
  env?: Record<string, string>;
  /** Start with `--inspect=127.0.0.1:0` so heapUsage() works. */
  inspect?: boolean;
  /** Where the data dir is made (default: the OS temp dir, on disk here; /dev/shm makes fsync free). */
  dataRoot?: string;
  /** Extra node flags (`--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
  /** The operator token (masters of one cluster share theirs); default: a random one. */
  token?: string;
}

/**
 * Settings every benchmark master gets: the suite polls job status often and opens thousands of sockets
 * from 127.0.0.1, which the per-address limits of a public master would (rightly) refuse.
 */
export const BENCH_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  BARNRAISE_OPERATOR_RATE_LIMIT: '1000000',
  BARNRAISE_RATE_LIMIT: '1000000',
  BARNRAISE_MAX_CONNECTIONS_PER_ADDRESS: '20000',
  BARNRAISE_CONNECT_PER_SECOND: '100000',
  BARNRAISE_CONNECT_BURST: '100000',
};

export interface HeapUsage {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** A node of V8's sampling heap profile: the bytes its samples stand for, and its callees. */
interface SampledNode {
  selfSize: number;
  children: SampledNode[];
}

export class Master {
  private constructor(
    readonly child: ChildProcess,
    readonly output: OutputTail,
    readonly url: string,
    readonly token: string,
    readonly dataDir: string,
    private readonly inspectorUrl: string | null,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get dbFile(): string {
    return path.join(this.dataDir, DB_FILE);
  }

  static async start(opts: MasterOptions = {}): Promise<Master> {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(opts.dataRoot ?? os.tmpdir(), 'barnraise-bench-'));
    const token = opts.token ?? `bench-${randomBytes(12).toString('hex')}`;
    const { child, output } = spawnNode(
      BARNRAISE_BIN,
      ['serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir, '--token', token],
      { env: { ...BENCH_ENV, ...opts.env }, nodeArgs: [...(opts.inspect ? ['--inspect=127.0.0.1:0'] : []), ...(opts.nodeArgs ?? [])] },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(
        `master on ${url}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`master exited with ${child.exitCode}:\n${output.value}`);
          return (await fetch(`${url}/healthz`).catch(() => null))?.ok;
        },
        60_000,
        100,
      );
    } catch (err) {
      await stopProcess(child, 1000);
      throw err;
    }
    const inspectorUrl = opts.inspect ? (/Debugger listening on (ws:\/\/\S+)/.exec(output.value)?.[1] ?? null) : null;
    return new Master(child, output, url, token, dataDir, inspectorUrl);
  }

  /**
   * The master's `process.memoryUsage()` after a full GC, read over the inspector protocol (loopback).
   * Null when the master was not started with `inspect`.
   */
  async heapUsage(): Promise<HeapUsage | null> {
    const inspector = await this.inspector();
    if (!inspector) return null;
    try {
      await inspector.call('HeapProfiler.collectGarbage');
      const r = await inspector.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
      return JSON.parse((r.result as { value: string }).value) as HeapUsage;
    } finally {
      inspector.close();
    }
  }

  /**
   * Start V8's sampling heap profiler on the master's main thread, counting objects the collector has freed
   * too, so that it estimates every byte allocated (V8 scales each sample by its size and the interval).
   * The returned function stops it and gives the bytes allocated meanwhile. Null without `inspect`.
   */
  async sampleAllocations(intervalBytes = 4096): Promise<(() => Promise<number>) | null> {
    const inspector = await this.inspector();
    if (!inspector) return null;
    await inspector.call('HeapProfiler.enable');
    await inspector.call('HeapProfiler.startSampling', { samplingInterval: intervalBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return async () => {
      try {
        const { profile } = (await inspector.call('HeapProfiler.stopSampling')) as { profile: { head: SampledNode } };
        let bytes = 0;
        const walk = (n: SampledNode) => {
          bytes += n.selfSize;
          for (const c of n.children) walk(c);
        };
        walk(profile.head);
        return bytes;
      } finally {
        inspector.close();
      }
    };
  }

  /** A connection to the master's inspector (loopback), or null when it was not started with `inspect`. */
  private async inspector(): Promise<{ call(method: string, params?: object): Promise<Record<string, unknown>>; close(): void } | null> {
    if (!this.inspectorUrl) return null;
    const ws = new WebSocket(this.inspectorUrl, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let id = 0;
    const call = (method: string, params: object = {}) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const my = ++id;
        const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), 30_000);
        const onMessage = (d: WebSocket.RawData) => {
          const msg = JSON.parse(d.toString()) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
          if (msg.id !== my) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          if (msg.error) reject(new Error(msg.error.message));
          else resolve(msg.result ?? {});
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id: my, method, params }));
      });
    return { call, close: () => ws.close() };
  }

  /** SIGTERM (the master drains and closes its store), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await stopProcess(this.child, 10_000);
  }

  /** Stop and delete the data dir. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
