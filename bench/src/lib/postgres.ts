/**
 * The PostgreSQL server the cluster benchmark runs masters on: a fresh database per run (dropped after), and
 * the CPU its processes spend, read from /proc like the masters' (the server runs on this machine).
 */
import fs from 'node:fs';
import pg from 'pg';
import { readCpuSeconds, readStat } from './proc.ts';

/** A database on the server to connect to for CREATE / DROP DATABASE (trust auth on this machine). */
export const PG_ADMIN_URL = process.env.BARNRAISE_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the same server. */
export function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Null when the server answers, else why not. */
export async function pgProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Names are made here ([a-z0-9_]), never taken from outside, so quoting them is enough. */
const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  return `"${name}"`;
};

export const createDatabase = (name: string) => admin((c) => c.query(`CREATE DATABASE ${ident(name)}`)).then(() => undefined);
/** Drop it, ending any session still in it (a killed master's are gone already; FORCE is PostgreSQL 13+). */
export const dropDatabase = (name: string) => admin((c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`)).then(() => undefined);

/** Server version, WAL position and a few settings that shape the figures. */
export async function serverFacts(): Promise<{ version: string; postmaster: number; settings: Record<string, string> }> {
  return admin(async (c) => {
    const version = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const names = ['fsync', 'synchronous_commit', 'wal_level', 'shared_buffers', 'max_connections', 'autovacuum', 'commit_delay'];
    const rows = (await c.query<{ name: string; setting: string; unit: string | null }>('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [names])).rows;
    return { version, postmaster: parentOf(pid), settings: Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} (${r.unit})` : r.setting])) };
  });
}

/** Bytes of WAL written so far (pg_current_wal_lsn as a number), for WAL per task. */
export const walBytes = () => admin(async (c) => Number((await c.query<{ b: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS b")).rows[0]!.b));

const parentOf = (pid: number): number => readStat(`/proc/${pid}/stat`).ppid;

const title = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
};

/** PostgreSQL's own background processes: they serve every database, ours included. */
const BACKGROUND = /: (?:[\w./-]+: )?(checkpointer|background writer|walwriter|autovacuum launcher|logical replication launcher|archiver|stats collector)\b/;

/**
 * CPU seconds of the server's processes while a run goes: the backends of database `db` (the masters'
 * sessions, and an autovacuum worker on it), plus the postmaster and the background processes every
 * database shares (WAL writer, checkpointer, background writer). Backends of other databases (other work on
 * this machine) are left out. Sampled every `everyMs`, so a backend that exits mid-run keeps the CPU it had
 * at its last sample.
 */
export class PgCpuMeter {
  /** Per process: CPU at its first sample (0 for one that started during the run) and at its last. */
  private readonly seen = new Map<number, { kind: 'ours' | 'shared'; first: number; last: number }>();
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private first = true;

  constructor(
    private readonly postmaster: number,
    private readonly db: string,
    everyMs = 200,
  ) {
    this.sample();
    this.first = false;
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const pids = [this.postmaster];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      try {
        if (parentOf(pid) === this.postmaster) pids.push(pid);
      } catch {
        // gone
      }
    }
    for (const pid of pids) {
      let known = this.seen.get(pid);
      if (!known) {
        const t = pid === this.postmaster ? 'postmaster: shared' : title(pid);
        const kind = t.includes(` ${this.db} `) || t.endsWith(` ${this.db}`) ? 'ours' : BACKGROUND.test(t) || pid === this.postmaster ? 'shared' : null;
        if (!kind) continue;
        let cpu: number;
        try {
          cpu = readCpuSeconds(pid);
        } catch {
          continue;
        }
        known = { kind, first: this.first ? cpu : 0, last: cpu };
        this.seen.set(pid, known);
        continue;
      }
      try {
        known.last = readCpuSeconds(pid);
      } catch {
        // exited since the last sample: it keeps what it had then
      }
    }
  }

  /** Stop sampling; CPU seconds of our backends and of the shared processes, and wall seconds. */
  stop(): { ours: number; shared: number; cpuSeconds: number; wallSeconds: number } {
    this.sample();
    clearInterval(this.timer);
    let ours = 0;
    let shared = 0;
    for (const p of this.seen.values()) {
      if (p.kind === 'ours') ours += p.last - p.first;
      else shared += p.last - p.first;
    }
    return { ours, shared, cpuSeconds: ours + shared, wallSeconds: (performance.now() - this.t0) / 1000 };
  }
}

/** Drop the databases of earlier runs whose process is gone (a run ended by a timeout or a signal leaves its own). */
export async function dropLeftovers(prefix: string): Promise<string[]> {
  const names = await admin(async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix])).rows.map((r) => r.datname));
  const gone = names.filter((n) => {
    const pid = Number(/_(\d+)_/.exec(n.slice(prefix.length - 1))?.[1]);
    return Number.isInteger(pid) && pid !== process.pid && !fs.existsSync(`/proc/${pid}`);
  });
  for (const n of gone) await dropDatabase(n);
  return gone;
}

/** Transactions committed in database `db` so far (pg_stat_database; backends report within about a second). */
export const commitsIn = (db: string) =>
  admin(async (c) => Number((await c.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1', [db])).rows[0]?.n ?? NaN));
