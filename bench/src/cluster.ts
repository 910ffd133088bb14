/**
 * Several masters on PostgreSQL (issue 11, SPEC.md section K), with the settings a user gets from the README:
 *
 * 1. Throughput: a job of trivial tasks (n => n + 1) submitted to one master, with 1, 2 and 3 masters on one
 *    PostgreSQL (a fresh database each, dropped after), beside one master on SQLite, with the same swarm (6
 *    headless volunteers in one process, spread over the masters). CPU per task of the masters (their
 *    /proc/PID/stat) and of PostgreSQL (the backends of that database plus the shared background processes,
 *    sampled under the postmaster), and WAL bytes per task.
 * 2. `kill -9` of one of three masters mid-job (full run only): how long until its volunteers complete a task
 *    on another master, until the other masters' sweep frees its claims, and until its claimed tasks are
 *    leased again (their attempt history, read over REST from a surviving master).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import type { ResultLine } from '@barnraise/shared';
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchContext, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { commitsIn, createDatabase, databaseUrl, dropDatabase, dropLeftovers, PgCpuMeter, pgProblem, serverFacts, walBytes } from './lib/postgres.ts';
import { ClientProcess, CpuMeter, sleep, ThreadCpuMeter, waitUntil } from './lib/proc.ts';
import { holderOf } from '../../server/src/store/postgres/sql/claims.ts';
import { fmt, verdict, Verdict, type Row } from './lib/table.ts';

/** The swarm: 6 connections divide evenly over 1, 2 and 3 masters; 1 thread each, at the volunteer's default prefetch (SPEC P3). */
const CONNECTIONS = 6;
const THREADS = 1;
/** The defaults (server/src/config.ts), which the kill figures are held to. */
const CLAIM_TTL_MS = 5000;
const BEAT_MS = 1000;
/** The kill is repeated (a fresh cluster each time): one kill's timing depends on where the beats fell. */
const KILL_RUNS = 3;
const KILL_TASKS = 12_000;
/** A task of ~2 ms for the kill run, so the job outlasts the claim TTL on 6 threads. */
/** Databases are named `barnraise_bench_<pid>_<random>`: a later run drops those whose process is gone. */
const DB_PREFIX = 'barnraise_bench_';
const SPIN = 'export default (n) => { const end = Date.now() + 2; while (Date.now() < end); return n + 1; }';

interface Setup {
  masters: Master[];
  apis: Api[];
  volunteers: ClientProcess;
  db: string | null;
}

/** Start `n` masters (on a fresh database when `postgres`) and the swarm, spread over them; wait until all joined. */
async function setUp(ctx: BenchContext, n: number, postgres: boolean): Promise<Setup> {
  const db = postgres ? `${DB_PREFIX}${process.pid}_${randomBytes(3).toString('hex')}` : null;
  if (db) await createDatabase(db);
  const token = `bench-${randomBytes(12).toString('hex')}`;
  const masters: Master[] = [];
  try {
    // In parallel, as an operator starting a cluster would: migrations are safe when several start at once.
    // `--profile DIR`: each master writes V8 CPU profiles (one a thread) under DIR/<masters>-<store>/master-<k>/.
    const nodeArgs = (k: number) => (ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}/${n}-${db ? 'pg' : 'sqlite'}/master-${k}`] : []);
    const started = await Promise.allSettled(range(n).map((k) => Master.start({ token, env: db ? { BARNRAISE_DATABASE_URL: databaseUrl(db) } : {}, nodeArgs: nodeArgs(k) })));
    for (const s of started) if (s.status === 'fulfilled') masters.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const apis = masters.map((m) => new Api(m.url, m.token));
    const volunteers = new ClientProcess('cluster-volunteers.ts', ['--urls', masters.map((m) => m.url).join(','), '--connections', String(CONNECTIONS), '--threads', String(THREADS)]);
    await volunteers.next('started', 30_000);
    // Every master shows the whole cluster's volunteers (K7): wait until each sees all of them.
    await waitUntil(`${CONNECTIONS} volunteers seen by every master`, async () => (await Promise.all(apis.map((a) => a.stats()))).every((s) => s.volunteers === CONNECTIONS), 30_000, 100);
    ctx.log(`${n} master${n > 1 ? 's' : ''} on ${db ? `PostgreSQL (database ${db})` : 'SQLite'}, ${CONNECTIONS} volunteers joined`);
    return { masters, apis, volunteers, db };
  } catch (err) {
    await Promise.all(masters.map((m) => m.dispose()));
    if (db) await dropDatabase(db).catch(() => {});
    throw err;
  }
}

async function tearDown(s: Setup): Promise<void> {
  await s.volunteers.stop();
  await Promise.all(s.masters.map((m) => m.dispose()));
  if (s.db) await dropDatabase(s.db);
}

/** Every index once, each n + 1 (rule E1 across the cluster); returns how many lines were wrong. */
function wrongLines(lines: ResultLine[], tasks: number, expected: (n: number) => unknown): number {
  const seen = new Uint8Array(tasks);
  let wrong = Math.abs(lines.length - tasks);
  for (const l of lines) {
    if (l.index < 0 || l.index >= tasks || seen[l.index]) wrong++;
    else {
      seen[l.index] = 1;
      if (l.status !== 'done' || l.output !== expected(l.index)) wrong++;
    }
  }
  return wrong;
}

interface Throughput {
  store: 'sqlite' | 'postgres';
  masters: number;
  tasks: number;
  ms: number;
  tasksPerSecond: number;
  /** From 10% to 90% done (polled every 50 ms): the rate once every master has the job. */
  steadyTasksPerSecond: number;
  /** From the POST to its 201 (the inputs stored). */
  createdMs: number;
  /** From the POST to the poll that saw 10% done, and from the one that saw 90% to completed. */
  rampMs: number;
  tailMs: number;
  /** CPU seconds of each master over the run, and µs per task of all of them together. */
  masterCpuSeconds: number[];
  masterUsPerTask: number;
  /** The masters' CPU a task split by thread, summed over the masters: event loops, store threads, the rest (V8's compiler and GC helpers). */
  masterThreadsUs: { eventLoop: number; store: number; rest: number };
  volunteerUsPerTask: number;
  /** PostgreSQL: CPU of this database's backends, of the shared background processes, µs per task of both. */
  /** transactions: committed in the run's database over the run (claims, group commits, beats, sweeps, reads). */
  pg: { oursSeconds: number; sharedSeconds: number; usPerTask: number; walBytesPerTask: number; transactions: number } | null;
  load: number[];
}

export async function throughput(ctx: BenchContext, n: number, postgres: boolean, tasks: number, warm: number): Promise<Throughput> {
  const s = await setUp(ctx, n, postgres);
  try {
    const [api] = s.apis as [Api];
    const w = await api.createJob({ name: 'warm-up', code: PLUS_ONE, inputs: range(warm * n) });
    await api.waitCompleted(w.id, 60_000, 50);
    const facts = postgres ? await serverFacts() : null;
    const body = JSON.stringify({ name: 'cluster', code: PLUS_ONE, inputs: range(tasks) });
    ctx.log(`${n} × ${postgres ? 'PostgreSQL' : 'SQLite'}: ${fmt(tasks)} tasks`);
    const wal0 = postgres ? await walBytes() : 0;
    const xact0 = postgres ? await commitsIn(s.db!) : 0;
    const pgCpu = facts ? new PgCpuMeter(facts.postmaster, s.db!) : null;
    const cpu = s.masters.map((m) => new CpuMeter(m.pid));
    const threads = s.masters.map((m) => new ThreadCpuMeter(m.pid));
    const cpuVolunteers = new CpuMeter(s.volunteers.pid);
    const t0 = performance.now();
    const job = await api.createJobRaw(body);
    const createdMs = performance.now() - t0;
    const progress: Array<{ t: number; done: number }> = [];
    const at = await waitUntil(
      `${fmt(tasks)} tasks completed`,
      async () => {
        const j = await api.job(job.id);
        const t = performance.now();
        progress.push({ t, done: j.counts.done });
        if (j.status === 'cancelled') throw new Error('job cancelled');
        return j.status === 'completed' ? t : 0;
      },
      20 * 60_000,
      50,
    );
    const ms = at - t0;
    const masterCpuSeconds = cpu.map((c) => c.read().cpuSeconds);
    const split = threads.map((t) => t.read()).reduce((a, b) => ({ main: a.main + b.main, busiest: a.busiest + b.busiest, rest: a.rest + b.rest }));
    const volunteerCpu = cpuVolunteers.read().cpuSeconds;
    const pgUsed = pgCpu?.stop() ?? null;
    const wal1 = postgres ? await walBytes() : 0;
    // Backends report their counts when idle, within about a second.
    if (postgres) await sleep(1500);
    const xact1 = postgres ? await commitsIn(s.db!) : 0;
    // Any master answers with the same truth: read the results from the last one.
    const lines = await s.apis[s.apis.length - 1]!.results(job.id);
    const wrong = wrongLines(lines, tasks, (i) => i + 1);
    if (wrong !== 0) throw new Error(`${wrong} of ${tasks} result lines wrong, missing or repeated`);
    const cross = (f: number) => progress.find((p) => p.done >= f * tasks)?.t ?? Number.NaN;
    const steady = (0.8 * tasks * 1000) / (cross(0.9) - cross(0.1));
    const sum = masterCpuSeconds.reduce((a, b) => a + b, 0);
    return {
      store: postgres ? 'postgres' : 'sqlite',
      masters: n,
      tasks,
      ms,
      tasksPerSecond: (tasks * 1000) / ms,
      steadyTasksPerSecond: steady,
      createdMs,
      rampMs: cross(0.1) - t0,
      tailMs: at - cross(0.9),
      masterCpuSeconds,
      masterUsPerTask: (sum * 1e6) / tasks,
      masterThreadsUs: { eventLoop: (split.main * 1e6) / tasks, store: (split.busiest * 1e6) / tasks, rest: (split.rest * 1e6) / tasks },
      volunteerUsPerTask: (volunteerCpu * 1e6) / tasks,
      pg: pgUsed ? { oursSeconds: pgUsed.ours, sharedSeconds: pgUsed.shared, usPerTask: (pgUsed.cpuSeconds * 1e6) / tasks, walBytesPerTask: (wal1 - wal0) / tasks, transactions: xact1 - xact0 } : null,
      load: os.loadavg(),
    };
  } finally {
    await tearDown(s);
  }
}

interface KillFigures {
  tasks: number;
  /** ms after the kill: each of its volunteers welcomed by another master, and completing a task there. */
  welcomedMs: number[];
  workingMs: number[];
  /** A fresh compute thread's boot, timed in the swarm process right after (a volunteer whose thread was busy when its socket closed gets a new one). */
  threadBootMs: number;
  /** Tasks the killed master held claimed (its buffer and its leases) when it died. */
  claimed: number;
  /** ms after the kill until no task was held by it any more (the sweep). */
  freedMs: number;
  /** ms after the kill at which its claimed tasks were leased again (the attempt that completed each). */
  releasedFirstMs: number;
  releasedLastMs: number;
  completedMs: number;
  wrong: number;
  log: string[];
  load: number[];
}

export async function kill(ctx: BenchContext, tasks: number): Promise<KillFigures> {
  const s = await setUp({ ...ctx, profileDir: undefined }, 3, true); // not profiled: one of them is killed
  const client = new pg.Client({ connectionString: databaseUrl(s.db!) });
  await client.connect();
  await client.query('SET search_path = barnraise'); // holderOf names the claims table unqualified
  try {
    const [onA, onB] = s.apis as [Api, Api, Api];
    const victim = s.masters[2]!;
    const job = await onA.createJob({ name: 'kill', code: SPIN, inputs: range(tasks) });
    await waitUntil('a quarter done', async () => (await onA.job(job.id)).counts.done >= tasks / 4, 120_000, 50);
    // The victim's id in the store: masters register the URL they are reached at (their advertised one).
    const id = (await client.query<{ id: string }>('SELECT id FROM barnraise.masters WHERE url = $1', [victim.url])).rows[0]?.id;
    if (!id) throw new Error(`no master row for ${victim.url}`);
    const sessions = await backendsOf(client, victim.pid);
    s.volunteers.send({ type: 'mark', home: 2 });
    await s.volunteers.next('marked', 10_000);
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = Date.now();
    ctx.log(`kill -9 of master ${id} (${victim.url}) at ${fmt(tasks / 4)}+ of ${fmt(tasks)} done`);
    // What the dead master had sent before it died may still reach the server (a COMMIT in its socket's
    // send buffer lands after the kill): its claims are read once its sessions are gone.
    await waitUntil(
      'its sessions ended',
      async () => (await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [sessions])).rowCount === 0,
      30_000,
      10,
    );
    const held = (
      await client.query<{ idx: number }>(`SELECT t.idx FROM tasks t JOIN jobs j ON j.seq = t.job_seq WHERE j.id = $1 AND ${holderOf('t')} = $2`, [job.id, id])
    ).rows.map((r) => r.idx);
    const freedAt = await waitUntil(
      'its claims freed',
      // Held one by one (owner) or in a range (claims): none left of either.
      async () => ((await client.query<{ n: string }>('SELECT (SELECT count(*) FROM tasks WHERE owner = $1) + (SELECT count(*) FROM claims WHERE master = $1) AS n', [id])).rows[0]!.n === '0' ? Date.now() : 0),
      60_000,
      25,
    );
    const back = await s.volunteers.next<{ type: string; bootMs: number; volunteers: Array<{ k: number; welcomedAt: number | null; workingAt: number | null }> }>('back', 60_000);
    const { at: doneAt } = await onA.waitCompleted(job.id, 5 * 60_000, 50);
    const completedAt = Date.now() - (performance.now() - doneAt);
    // When each held task was leased again: its completed attempt's leasedAt (the masters' clock, this
    // machine's), as the dashboard's task detail shows it, read from a surviving master that did not submit it.
    const leasedAt: number[] = [];
    for (const idx of held.slice(0, 400)) {
      const res = await fetch(`${onB.url}/api/jobs/${job.id}/tasks/${idx}`, { headers: { authorization: `Bearer ${victim.token}` } });
      if (!res.ok) throw new Error(`GET task ${idx}: ${res.status}`);
      const detail = (await res.json()) as { attempts: Array<{ leasedAt: number; end: string }> };
      const done = detail.attempts.find((a) => a.end === 'done');
      if (done) leasedAt.push(done.leasedAt);
    }
    // Every held task must have been leased again after the kill: a completed attempt leased before it would
    // be the dead master's own, which it never committed.
    const before = leasedAt.filter((t) => t < killedAt).length;
    if (before > 0) throw new Error(`${before} tasks the killed master held completed with an attempt leased before the kill`);
    const wrong = wrongLines(await onB.results(job.id), tasks, (i) => i + 1);
    // The swarm's log lines from the kill on (Date.now() first), kept in the JSON report.
    const log = s.volunteers.output.value.split('\n').filter((l) => Number(l.split(' ')[0]) >= killedAt).map((l) => `+${Number(l.split(' ')[0]) - killedAt} ms ${l.slice(l.indexOf(' ') + 1)}`);
    const rel = (t: number | null) => (t === null ? Number.NaN : t - killedAt);
    return {
      tasks,
      welcomedMs: back.volunteers.map((v) => rel(v.welcomedAt)),
      threadBootMs: back.bootMs,
      workingMs: back.volunteers.map((v) => rel(v.workingAt)),
      claimed: held.length,
      freedMs: freedAt - killedAt,
      releasedFirstMs: leasedAt.length ? Math.min(...leasedAt) - killedAt : Number.NaN,
      releasedLastMs: leasedAt.length ? Math.max(...leasedAt) - killedAt : Number.NaN,
      completedMs: completedAt - killedAt,
      wrong,
      log,
      load: os.loadavg(),
    };
  } finally {
    await client.end().catch(() => {});
    await tearDown(s);
  }
}

/**
 * The backend PIDs of a master's pool: its sockets (from /proc/PID/fd) matched to local ports in
 * /proc/PID/net/tcp*, and those ports to pg_stat_activity.client_port.
 */
async function backendsOf(client: pg.Client, pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' }) ?? '');
    if (m) inodes.add(m[1]!);
  }
  const ports: number[] = [];
  for (const file of ['tcp', 'tcp6']) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  const rows = (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1) AND datname = current_database()', [ports])).rows;
  if (rows.length === 0) throw new Error(`no database sessions found for master ${pid}`);
  return rows.map((r) => r.pid);
}

const us = (x: number) => `${fmt(x)} µs`;

export const clusterBench: Bench = async (ctx): Promise<BenchResult> => {
  const problem = await pgProblem();
  if (problem) {
    return {
      name: 'cluster',
      rows: [{ bench: 'cluster', figure: 'several masters on PostgreSQL', value: 'skipped', beside: `PostgreSQL not reachable (${problem.slice(0, 100)})`, target: '', verdict: Verdict.skipped }],
      data: { problem },
      notes: [],
    };
  }
  const leftovers = await dropLeftovers(DB_PREFIX);
  if (leftovers.length > 0) ctx.log(`dropped ${leftovers.length} database(s) left by runs that did not end: ${leftovers.join(', ')}`);
  const facts = await serverFacts();
  const tasks = ctx.quick ? 3_000 : 200_000;
  // Per master: each master's hot path warms up on as many tasks whatever the count (a cluster runs for days).
  const warm = ctx.quick ? 300 : 20_000;
  const loadAtStart = os.loadavg();
  // The quick run (a budget of seconds) keeps SQLite against one master on PostgreSQL; the full run adds 2
  // and 3 masters and the kill.
  // To look at one part alone (profiles, a flag tried): BENCH_CLUSTER_COUNTS=1,2 BENCH_CLUSTER_KILLS=0.
  const counts = process.env.BENCH_CLUSTER_COUNTS?.split(',').map(Number) ?? (ctx.quick ? [1] : [1, 2, 3]);
  const killRuns = process.env.BENCH_CLUSTER_KILLS !== undefined ? Number(process.env.BENCH_CLUSTER_KILLS) : ctx.quick ? 0 : KILL_RUNS;
  const sqlite = await throughput(ctx, 1, false, tasks, warm);
  const runs: Throughput[] = [];
  for (const n of counts) runs.push(await throughput(ctx, n, true, tasks, warm));
  const kills: KillFigures[] = [];
  for (let k = 0; k < killRuns; k++) kills.push(await kill(ctx, KILL_TASKS));

  const one = runs[0]!;
  const rows: Row[] = [
    {
      bench: 'cluster',
      figure: `SQLite, 1 master: ${fmt(tasks)} trivial tasks, ${CONNECTIONS} volunteers`,
      value: `${fmt(sqlite.tasksPerSecond)} tasks/s`,
      beside: `10–90% ${fmt(sqlite.steadyTasksPerSecond)} tasks/s; master ${us(sqlite.masterUsPerTask)}/task`,
      target: '',
      verdict: Verdict.info,
    },
  ];
  for (const r of runs) {
    const ofSqlite = r.tasksPerSecond / sqlite.tasksPerSecond;
    const ofOne = r.tasksPerSecond / one.tasksPerSecond;
    rows.push({
      bench: 'cluster',
      figure: `PostgreSQL, ${r.masters} master${r.masters > 1 ? 's' : ''}: same job, same swarm`,
      value: `${fmt(r.tasksPerSecond)} tasks/s`,
      beside: `${r.masters === 1 ? `${fmt(ofSqlite * 100)}% of SQLite` : `${fmt(ofOne, 2)}× 1 master`}; 10–90% ${fmt(r.steadyTasksPerSecond)} tasks/s (POST to 201 ${fmt(r.createdMs)} ms, to 10% ${fmt(r.rampMs)} ms, 90% to completed ${fmt(r.tailMs)} ms)`,
      target: r.masters === 1 ? '>= 50% of SQLite' : '>= 1 master',
      verdict: r.masters === 1 ? verdict(ofSqlite, { atLeast: 0.5 }) : verdict(ofOne, { atLeast: 1 }),
    });
    rows.push({
      bench: 'cluster',
      figure: `PostgreSQL, ${r.masters} master${r.masters > 1 ? 's' : ''}: CPU per task, masters / PostgreSQL`,
      value: `${us(r.masterUsPerTask)} / ${us(r.pg!.usPerTask)}`,
      beside: `each master ${r.masterCpuSeconds.map((c) => `${fmt(c, 1)}`).join(' + ')} s (µs/task: event loops ${fmt(r.masterThreadsUs.eventLoop, 1)}, busiest other threads ${fmt(r.masterThreadsUs.store, 1)}, the rest ${fmt(r.masterThreadsUs.rest, 1)}); PostgreSQL ${fmt(r.pg!.oursSeconds, 1)} s backends + ${fmt(r.pg!.sharedSeconds, 1)} s shared; WAL ${fmt(r.pg!.walBytesPerTask)} B/task; ${fmt((r.pg!.transactions * 1000) / r.tasks, 1)} transactions per 1,000 tasks`,
      target: '',
      verdict: Verdict.info,
    });
  }
  if (kills.length > 0) {
    const max = (xs: number[]) => Math.max(...xs);
    const each = (f: (k: KillFigures) => string) => kills.map(f).join('; ');
    const bound = CLAIM_TTL_MS + 2 * BEAT_MS;
    const working = max(kills.map((k) => max(k.workingMs)));
    rows.push(
      {
        bench: 'cluster',
        figure: `kill -9 of 1 of 3 masters (×${kills.length}): its ${CONNECTIONS / 3} volunteers working on another, max`,
        value: `${fmt(working)} ms`,
        beside: `joined / working after, per kill: ${each((k) => `${k.welcomedMs.map((x) => fmt(x)).join(', ')} / ${k.workingMs.map((x) => fmt(x)).join(', ')} ms`)}; a fresh compute thread booted in ${each((k) => fmt(k.threadBootMs))} ms`,
        target: '<= 2,000 ms',
        verdict: verdict(working, { atMost: 2000 }),
      },
      {
        bench: 'cluster',
        figure: `kill -9 (×${kills.length}): its claimed tasks freed / leased again (first–last)`,
        value: each((k) => `${fmt(k.freedMs)} / ${fmt(k.releasedFirstMs)}–${fmt(k.releasedLastMs)} ms`),
        beside: `${each((k) => `${k.claimed}`)} tasks held; claim TTL ${fmt(CLAIM_TTL_MS)} ms, beats every ${fmt(BEAT_MS)} ms; ${kills.reduce((n, k) => n + k.wrong, 0)} results wrong or repeated`,
        target: `<= ${fmt(bound)} ms (TTL + 2 beats); 0 wrong`,
        verdict: kills.every((k) => k.freedMs <= bound && k.releasedFirstMs <= bound && k.wrong === 0) ? Verdict.pass : Verdict.miss,
      },
    );
  }
  return {
    name: 'cluster',
    rows,
    data: { postgres: facts, connections: CONNECTIONS, threads: THREADS, prefetch: 'default', sqlite, runs, kills, load: { atStart: loadAtStart, atEnd: os.loadavg() } },
    notes: [
      `PostgreSQL ${facts.version} on 127.0.0.1 (${Object.entries(facts.settings).map(([k, v]) => `${k}=${v}`).join(', ')}), a fresh database per run, dropped after; masters with the README's defaults (pool of 8, beat 1 s, claim TTL 5 s, sync 1 s, group commit 10 ms), the suite's raised REST and connection limits.`,
      `${CONNECTIONS} headless volunteers in one process, ${THREADS} thread each at the default prefetch (about 50 ms of work a thread, SPEC P3); volunteer k lists every master starting with master k mod n. Each row first runs a warm-up job of ${fmt(warm)} trivial tasks per master (the same for every master whatever their number, so no row measures a master still compiling its hot path), then the measured job of ${fmt(tasks)}, submitted to the first master and polled there every 50 ms; its results are read from the last master and checked (each index once, n + 1).`,
      `kill -9 (full run, ${KILL_RUNS} times, a fresh cluster each): ${fmt(KILL_TASKS)} tasks of ~2 ms submitted to the first master; at a quarter done the third is killed. Its volunteers' return is read in the swarm process (every 2 ms: welcomed by another master, then a task completed there); its claims (the tasks it held one by one or in ranges, read in the database right after the kill) are polled every 25 ms until none is left; when each was leased again is its completed attempt's leasedAt in GET /api/jobs/:id/tasks/:index on a surviving master.`,
      'CPU per task: CPU seconds over the run (from just before the POST to completed) of every master process, and of PostgreSQL: the backends of the run\'s database plus the postmaster and its shared background processes (WAL writer, checkpointer, background writer), sampled every 200 ms from /proc; other databases\' backends are left out.',
    ],
  };
};
