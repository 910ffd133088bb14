/** A real master for one test: `barnraise serve` as a child process on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the master's source is: this checkout, or BARNRAISE_E2E_MASTER_ROOT to test the page against another one. */
const root = process.env.BARNRAISE_E2E_MASTER_ROOT ? path.resolve(process.env.BARNRAISE_E2E_MASTER_ROOT) : repoRoot;

export interface MasterOptions {
  /** Short heartbeats make a frozen tab lapse within ~2 s (the timeout is 4 beats). */
  heartbeatMs?: number;
  title?: string;
  description?: string;
  /** A private swarm: only sockets with `?key=<joinKey>` may join. */
  joinKey?: string;
  /** The operator token (default: a random one); masters of one cluster share it. */
  token?: string;
  /** More of the master's environment, e.g. BARNRAISE_VOUCH_KEY or BARNRAISE_NEW_IDENTITIES_BURST. */
  env?: Record<string, string>;
}

/** If this test process exits without tearing down (a timed-out worker), do not leave the child running. */
export function killOnExit(child: ChildProcess): void {
  const kill = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
}

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

export class MasterProcess {
  readonly token: string;
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-e2e-'));
  private child: ChildProcess | null = null;
  private log: string[] = [];

  private constructor(
    readonly port: number,
    readonly opts: MasterOptions,
  ) {
    this.token = opts.token ?? `e2e-${Math.random().toString(36).slice(2)}`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The tail of the master's output, for failure messages. */
  logTail(lines = 30): string {
    return this.log.slice(-lines).join('');
  }

  static async start(opts: MasterOptions = {}): Promise<MasterProcess> {
    const master = new MasterProcess(await freePort(), opts);
    await master.launch();
    return master;
  }

  /** Start the process (again, after stop(): same port, same data). Resolves once /healthz answers. */
  async launch(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
    if (this.opts.heartbeatMs) env.BARNRAISE_HEARTBEAT_MS = String(this.opts.heartbeatMs);
    if (this.opts.title) env.BARNRAISE_TITLE = this.opts.title;
    if (this.opts.description) env.BARNRAISE_DESCRIPTION = this.opts.description;
    if (this.opts.joinKey) env.BARNRAISE_JOIN_KEY = this.opts.joinKey;
    Object.assign(env, this.opts.env);
    const args = ['--import', 'tsx', 'server/src/cli.ts', 'serve', '--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.dataDir, '--token', this.token];
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    killOnExit(child);
    const keep = (b: Buffer) => {
      this.log.push(b.toString());
      if (this.log.length > 200) this.log.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`master exited with ${child.exitCode}:\n${this.logTail()}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new Error(`master did not answer /healthz within 30 s:\n${this.logTail()}`);
  }

  /** Stop the process we started, by its PID: SIGTERM (it drains), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  /** kill -9 the process we started, by its PID (a crash: no drain); resolves once it has exited. */
  async crash(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
