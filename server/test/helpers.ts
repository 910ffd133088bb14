/** Helpers for end-to-end tests: real master and worker processes on loopback, the REST client, a raw volunteer. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Barnraise } from '@barnraise/client';
import { PROTOCOL_VERSION, VOLUNTEER_PATH, type CreateJobBody, type JobSummary, type MasterMessage, type ResultLine, type VolunteerMessage } from '@barnraise/shared';

export const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(SERVER_DIR, 'src/cli.ts');
const BIN = path.join(SERVER_DIR, 'bin/barnraise.js');

export function tempDir(prefix = 'barnraise-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Poll `check` until it returns a truthy value, or fail after `timeoutMs` saying what was awaited. */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<Truthy<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as Truthy<Awaited<T>>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Run `barnraise ARGS` as a child process: from source (node --import tsx), or with `bin` as a user's
 * `pnpm barnraise` does (bin/barnraise.js: the build while it is current). Node directly either way, so the
 * PID is the process itself (no package-manager shim).
 */
export function run(args: string[], env: NodeJS.ProcessEnv, opts: { bin?: boolean } = {}): Proc {
  const command = opts.bin ? [BIN, ...args] : ['--import', 'tsx', CLI, ...args];
  const child = spawn(process.execPath, command, { cwd: SERVER_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface MasterProc extends Proc {
  url: string;
  port: number;
}

/** Start a master process and wait until it answers /healthz. */
export async function startMaster(opts: { dataDir: string; token: string; port?: number; env?: NodeJS.ProcessEnv; bin?: boolean }): Promise<MasterProc> {
  const port = opts.port ?? (await freePort());
  const proc = run(['serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', opts.dataDir, '--token', opts.token], {
    LOG_LEVEL: 'warn',
    ...opts.env,
  }, { bin: opts.bin ?? false });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`master on ${url} (output: ${proc.output()})`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`master exited: ${proc.output()}`);
    return (await fetch(`${url}/healthz`).catch(() => null))?.ok;
  });
  return { ...proc, url, port };
}

let testAssetCache: string | undefined;

/**
 * A `barnraise worker` process; anonymous unless `extraArgs` name an `--identity` file, and keeping assets in a
 * temporary directory unless they name a `--cache` (never the user's own files).
 */
export function startWorker(url: string, threads: number, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}, opts: { bin?: boolean } = {}): Proc {
  const identity = extraArgs.some((a) => a === '--identity' || a === '--no-identity') ? [] : ['--no-identity'];
  if (!testAssetCache && !extraArgs.includes('--cache')) {
    const dir = (testAssetCache = tempDir('barnraise-test-assets-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  const cache = extraArgs.includes('--cache') ? [] : ['--cache', testAssetCache!];
  return run(['worker', '--url', url, '--threads', String(threads), '--quiet', ...identity, ...cache, ...extraArgs], env, opts);
}

/** Resident set size of a process in bytes (Linux /proc), or NaN when it cannot be read. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A small seeded PRNG (mulberry32), so a fuzz run that fails can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The operator API as the suite uses it, on @barnraise/client (`client` for the rest of it). One try per
 * call and no Idempotency-Key, as a plain request would: these tests watch what the master does, and a
 * retry or a durable key write would change what they see (the client's own retries and keys have their
 * own tests, client/test). `raw` and `headers` stay plain fetch: they send what the client never would
 * (malformed bodies, wrong tokens, odd headers, other routes) and read statuses and headers.
 */
export function api(url: string, token: string) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const client = new Barnraise({ url, token, retries: 0 });
  return {
    client,
    /** POST /api/jobs, resolving with the summary (201, once the job is durable). */
    async createJob(body: CreateJobBody): Promise<JobSummary> {
      return (await client.submit(body, { idempotencyKey: null })).summary!;
    },
    job: (id: string): Promise<JobSummary> => client.getJob(id),
    /** Every line of the results stream: the tasks final now, or (`follow`) every task, as the job ends. */
    async results(id: string, follow = false): Promise<ResultLine[]> {
      const lines: ResultLine[] = [];
      for await (const line of client.job(id).lines({ follow })) lines.push(line);
      return lines;
    },
    cancel: (id: string): Promise<JobSummary> => client.cancel(id),
    raw: (p: string, init: RequestInit = {}) => fetch(`${url}${p}`, init),
    headers,
  };
}

/** Check a results list has every index 0..total-1 exactly once, each with the expected output. */
export function expectExactlyOnce(lines: ResultLine[], total: number, expected: (i: number) => unknown): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const l of lines) seen.set(l.index, (seen.get(l.index) ?? 0) + 1);
  for (let i = 0; i < total; i++) {
    const n = seen.get(i) ?? 0;
    if (n !== 1) problems.push(`index ${i} appears ${n} times`);
  }
  for (const l of lines) {
    if (l.status !== 'done') problems.push(`index ${l.index} failed: ${l.error}`);
    else if (JSON.stringify(l.output) !== JSON.stringify(expected(l.index))) problems.push(`index ${l.index}: got ${JSON.stringify(l.output)}`);
  }
  return problems.slice(0, 10);
}

/** A hand-driven volunteer speaking the raw protocol, for protocol tests. */
export class RawVolunteer {
  readonly received: MasterMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.received.push(JSON.parse(d.toString()) as MasterMessage));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  static async connect(url: string, query = ''): Promise<RawVolunteer> {
    const ws = new WebSocket(new URL(VOLUNTEER_PATH + query, url.replace(/^http/, 'ws')));
    const v = new RawVolunteer(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return v;
  }

  /** Connect and say hello; `hello` adds fields to it (`{ acks: true }`). */
  static async join(url: string, threads = 1, query = '', hello: Record<string, unknown> = {}): Promise<RawVolunteer> {
    const v = await RawVolunteer.connect(url, query);
    v.send({ type: 'hello', v: PROTOCOL_VERSION, threads, agent: 'node', ...hello });
    await v.next('welcome');
    return v;
  }

  send(msg: VolunteerMessage | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  of<T extends MasterMessage['type']>(type: T): Array<Extract<MasterMessage, { type: T }>> {
    return this.received.filter((m): m is Extract<MasterMessage, { type: T }> => m.type === type);
  }

  async next<T extends MasterMessage['type']>(type: T, count = 1, timeoutMs = 5000): Promise<Extract<MasterMessage, { type: T }>> {
    await waitFor(`${count} "${type}" frame(s)`, () => this.of(type).length >= count, timeoutMs, 10);
    return this.of(type)[count - 1]!;
  }

  async closedWith(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return waitFor('socket close', () => this.closed, timeoutMs, 10);
  }

  close(): void {
    this.ws.terminate();
  }
}
