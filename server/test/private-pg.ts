/**
 * A PostgreSQL server of a test's own: initdb in a temporary directory, started on a free loopback port, so a
 * test may restart or crash it (SPEC.md K8) without touching the machine's shared server. Trust auth,
 * `fsync` and `synchronous_commit` at their defaults (on): a crash keeps every commit that was confirmed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './helpers.ts';

const run = promisify(execFile);

/** The directory of PostgreSQL's server binaries (`pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin), or null. */
export async function findPgBin(): Promise<string | null> {
  const has = (dir: string) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'));
  const fromConfig = await run('pg_config', ['--bindir'], { timeout: 5000 }).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (fromConfig && has(fromConfig)) return fromConfig;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (has(path.join(root, v, 'bin'))) return path.join(root, v, 'bin');
  return null;
}

/** Why a private server cannot run here, or null when it can. */
export async function privatePgProblem(): Promise<string | null> {
  if (!(await findPgBin())) return 'no PostgreSQL server binaries (initdb, pg_ctl): neither `pg_config --bindir` nor /usr/lib/postgresql/*/bin has them';
  // PostgreSQL refuses to run as root: root runs it as the `postgres` user, anyone else as themselves.
  if (process.getuid?.() === 0) {
    const user = await run('id', ['-u', 'postgres'], { timeout: 5000 }).then(() => true, () => false);
    if (!user) return 'running as root, and there is no `postgres` user to run a server as';
    const runuser = await run('runuser', ['--help'], { timeout: 5000 }).then(() => true, () => false);
    if (!runuser) return 'running as root, and there is no `runuser` to run a server as `postgres`';
  }
  return null;
}

/** How `pg_ctl` stops the server: `fast` rolls back sessions and checkpoints; `immediate` is a crash. */
export type StopMode = 'fast' | 'immediate';

export class PrivatePg {
  private running = false;

  private constructor(
    private readonly bin: string,
    /** Holds `data/`, the socket and the log; removed by `destroy`. */
    readonly root: string,
    readonly port: number,
  ) {}

  /** initdb a fresh cluster and start it. */
  static async start(): Promise<PrivatePg> {
    const bin = await findPgBin();
    if (!bin) throw new Error('no PostgreSQL binaries');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-pg-'));
    const pg = new PrivatePg(bin, root, await freePort());
    try {
      if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:postgres', root], { timeout: 10_000 });
      // --no-sync: initdb's own files need no fsync for a throwaway cluster; the server itself syncs as usual.
      await pg.as('initdb', ['-D', pg.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], 120_000);
      await pg.startServer();
      return pg;
    } catch (err) {
      await pg.destroy();
      throw err;
    }
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  get logFile(): string {
    return path.join(this.root, 'server.log');
  }

  /** A URL for the `postgres` database, trust auth. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The server's log so far (for a failing test's message). */
  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Start the stopped server; resolves once it accepts connections (pg_ctl -w). */
  async startServer(): Promise<void> {
    // Only loopback TCP and a socket in our own directory: nothing of the machine's server is shared. (A
    // restart is stop then start: `pg_ctl restart` takes no -l, and the server would keep our pipes open.)
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.root} -c max_connections=100`;
    await this.as('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', options, '-w', '-t', '60', 'start'], 90_000);
    this.running = true;
  }

  /** Stop the server (`immediate`: a crash, with recovery at the next start). */
  async stop(mode: StopMode): Promise<void> {
    await this.as('pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], 90_000);
    this.running = false;
  }

  /** Stop the server if it runs, and remove its directory. Never throws. */
  async destroy(): Promise<void> {
    if (this.running || fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => {});
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  /** Run one of the server's binaries as the user that may run it, bounded in time. */
  private async as(tool: string, args: string[], timeout: number): Promise<void> {
    const exe = path.join(this.bin, tool);
    const [cmd, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
    try {
      await run(cmd, argv, { timeout, cwd: this.root });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${this.log().slice(-2000)}`);
    }
  }
}
