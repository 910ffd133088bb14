/**
 * Child processes the suite starts, held by PID, and what /proc says about them (RSS, CPU time).
 * Every process started here is registered, so an interrupted run still ends exactly what it started.
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BENCH_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface MemorySample {
  /** Resident set size now, bytes. */
  rss: number;
  /** The kernel's high-water mark of the resident set since the process started (or since reset), bytes. */
  hwm: number;
}

/** VmRSS and VmHWM of a process. */
export function readMemory(pid: number): MemorySample {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** A `/proc/<pid>/stat` (or a thread's) file: its command name, parent and user + system CPU seconds. */
export function readStat(file: string): { comm: string; ppid: number; cpu: number } {
  const stat = fs.readFileSync(file, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // ppid is field 4 of the whole line, utime and stime fields 14 and 15: so 1, 11 and 12 after the name.
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / CLK_TCK };
}

/** User + system CPU seconds a process has used (its threads included, children not). */
export function readCpuSeconds(pid: number): number {
  return readStat(`/proc/${pid}/stat`).cpu;
}

/** CPU seconds per wall second (1.0 = one core busy) between two moments. */
export class CpuMeter {
  private readonly cpu0: number;
  private readonly t0 = performance.now();
  constructor(private readonly pid: number) {
    this.cpu0 = readCpuSeconds(pid);
  }
  /** CPU seconds used so far and the cores busy on average. */
  read(): { cpuSeconds: number; wallSeconds: number; cores: number } {
    const cpuSeconds = readCpuSeconds(this.pid) - this.cpu0;
    const wallSeconds = (performance.now() - this.t0) / 1000;
    return { cpuSeconds, wallSeconds, cores: cpuSeconds / wallSeconds };
  }
}

/** CPU seconds of each thread of a process, by thread id (threads that ended meanwhile are missing). */
export function readThreadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), readStat(`/proc/${pid}/task/${tid}/stat`).cpu);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/**
 * A process's CPU split by thread between two moments: its main thread (the event loop), its busiest other
 * thread (in the master: the store thread), and the rest (V8's compiler and GC helpers, libuv's pool).
 */
export class ThreadCpuMeter {
  private readonly t0: Map<number, number>;
  constructor(private readonly pid: number) {
    this.t0 = readThreadCpuSeconds(pid);
  }
  read(): { main: number; busiest: number; rest: number } {
    let main = 0;
    let busiest = 0;
    let rest = 0;
    for (const [tid, cpu] of readThreadCpuSeconds(this.pid)) {
      const d = cpu - (this.t0.get(tid) ?? 0);
      if (tid === this.pid) main = d;
      else if (d > busiest) {
        rest += busiest;
        busiest = d;
      } else rest += d;
    }
    return { main, busiest, rest };
  }
}

/** Samples a process's RSS on an interval and keeps the peak. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  peak = 0;
  samples = 0;
  constructor(
    private readonly pid: number,
    private readonly everyMs = 50,
  ) {}
  start(): this {
    const sample = () => {
      try {
        this.peak = Math.max(this.peak, readMemory(this.pid).rss);
        this.samples++;
      } catch {
        // the process is gone; the peak so far stands
      }
    };
    sample();
    this.timer = setInterval(sample, this.everyMs);
    return this;
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.peak;
  }
}

const started = new Set<ChildProcess>();

/** End one process we started, by its PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  started.delete(child);
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** SIGKILL every process this run started and has not stopped yet (on exit or interruption). */
export function killAllStarted(): void {
  for (const child of started) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  started.clear();
}

/** Output of a child kept for error messages (the last ~64 KB). */
export class OutputTail {
  private text = '';
  add = (d: Buffer | string) => {
    this.text += d.toString();
    if (this.text.length > 65_536) this.text = this.text.slice(-32_768);
  };
  get value(): string {
    return this.text;
  }
}

/**
 * The `barnraise` command as a user runs it (`pnpm barnraise`, `npm start`): the build, which run.ts makes
 * first (server/scripts/build.mjs), as `npm start` does.
 */
export const BARNRAISE_BIN = path.join(REPO_ROOT, 'server/bin/barnraise.js');

/** Node's arguments to load `script`: tsx's loader for TypeScript, none for JavaScript. */
const loaderFor = (script: string): string[] => (script.endsWith('.ts') ? ['--import', 'tsx'] : []);

/** Start `node <script> args` (through tsx for a `.ts` script) with its PID held and its output kept. */
export function spawnNode(script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; cwd?: string } = {}) {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...loaderFor(script), script, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  const output = new OutputTail();
  child.stdout!.on('data', output.add);
  child.stderr!.on('data', output.add);
  return { child, output };
}

let builtClients: string | null = null;

/** Run client processes from `dir` (lib/build-clients.ts, built by run.ts) rather than through tsx. */
export function useBuiltClients(dir: string): void {
  builtClients = dir;
}

/** Messages a bench client process sends its parent over the IPC channel. */
export type ClientMessage = { type: string; [key: string]: unknown };

/** A bench client (bench/src/clients/*.ts) run as a child with an IPC channel, its PID held. */
export class ClientProcess {
  readonly child: ChildProcess;
  readonly output = new OutputTail();
  private readonly inbox: ClientMessage[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    private readonly script: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
    nodeArgs: string[] = [],
  ) {
    const file = builtClients ? path.join(builtClients, script.replace(/\.ts$/, '.js')) : path.join(BENCH_SRC, 'clients', script);
    this.child = fork(file, args, {
      cwd: REPO_ROOT,
      execArgv: [...nodeArgs, ...loaderFor(file)],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    started.add(this.child);
    this.child.stdout!.on('data', this.output.add);
    this.child.stderr!.on('data', this.output.add);
    this.child.on('message', (m) => {
      this.inbox.push(m as ClientMessage);
      this.wake();
    });
    this.child.on('exit', () => this.wake());
  }

  get pid(): number {
    return this.child.pid!;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(msg: ClientMessage): void {
    this.child.send(msg);
  }

  /** The first waiting message of `type` (or an `error` from the client, thrown), within `timeoutMs`. */
  async next<T extends ClientMessage = ClientMessage>(type: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type === type || m.type === 'error');
      if (i >= 0) {
        const [m] = this.inbox.splice(i, 1);
        if (m!.type === 'error') throw new Error(`${this.script}: ${String(m!.message)}`);
        return m as T;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.script} exited (${this.child.exitCode ?? this.child.signalCode}) before "${type}":\n${this.output.value.slice(-2000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${type}" from ${this.script} within ${timeoutMs} ms:\n${this.output.value.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(graceMs = 5000): Promise<void> {
    return stopProcess(this.child, graceMs);
  }
}

/** Register `child` so an interrupted run kills it. */
export function track(child: ChildProcess): void {
  started.add(child);
}

/** Promise that settles after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Run `fn` until it returns a truthy value, every `everyMs`, failing after `timeoutMs` with `what`. */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs: number, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

/** Every process on the machine with its parent, name and CPU seconds (a process gone meanwhile is skipped). */
function readProcesses(): Map<number, { ppid: number; comm: string; cpu: number }> {
  const out = new Map<number, { ppid: number; comm: string; cpu: number }>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.set(Number(name), readStat(`/proc/${name}/stat`));
    } catch {
      // ended between the listing and the read
    }
  }
  return out;
}

/**
 * Where a machine's CPU went between two moments, for a browser benchmark: the Web Workers' threads (by
 * thread name, in the browser's processes), the rest of the browser (its page and browser processes), the
 * processes named in `own` (the master, say), this process, and everything else on the machine.
 */
export class MachineCpuSplit {
  private readonly t0 = performance.now();
  private readonly before: ReturnType<MachineCpuSplit['sample']>;
  constructor(
    private readonly browserPid: number,
    private readonly own: Record<string, number>,
  ) {
    this.before = this.sample();
  }

  private sample() {
    const procs = readProcesses();
    const inBrowser = (pid: number): boolean => {
      for (let p = pid, hops = 0; p > 1 && hops < 20; hops++) {
        if (p === this.browserPid) return true;
        p = procs.get(p)?.ppid ?? 0;
      }
      return false;
    };
    let workers = 0;
    let browser = 0;
    for (const [pid, p] of procs) {
      if (!inBrowser(pid)) continue;
      browser += p.cpu;
      for (const [tid, cpu] of readThreadCpuSeconds(pid)) {
        let comm = '';
        try {
          comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        } catch {
          continue;
        }
        if (comm === 'DedicatedWorker') workers += cpu;
      }
    }
    const own: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.own)) own[name] = procs.get(pid)?.cpu ?? 0;
    let all = 0;
    for (const p of procs.values()) all += p.cpu;
    return { workers, browser: browser - workers, own, self: procs.get(process.pid)?.cpu ?? 0, all };
  }

  /** Cores busy on average since construction, by part. */
  read(): { workers: number; browser: number; own: Record<string, number>; self: number; other: number } {
    const after = this.sample();
    const s = (performance.now() - this.t0) / 1000;
    const own: Record<string, number> = {};
    let named = 0;
    for (const name of Object.keys(this.own)) {
      own[name] = (after.own[name]! - this.before.own[name]!) / s;
      named += own[name]!;
    }
    const workers = (after.workers - this.before.workers) / s;
    const browser = (after.browser - this.before.browser) / s;
    const self = (after.self - this.before.self) / s;
    const other = (after.all - this.before.all) / s - workers - browser - named - self;
    return { workers, browser, own, self, other };
  }
}

/** The PID of this process's child named `comm` (a browser Playwright launched), or null. */
export function childNamed(comm: string): number | null {
  for (const [pid, p] of readProcesses()) if (p.ppid === process.pid && p.comm === comm) return pid;
  return null;
}
