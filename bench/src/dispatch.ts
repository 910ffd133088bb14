/**
 * 1. Dispatch throughput: a job of trivial tasks (n => n + 1) through the master, its durable SQLite store
 * and 8 headless volunteer connections in one separate process, from just before the POST until the job
 * reads `completed` (which the master reports only once every result is durable). Beside it, in the same
 * run: the raw limit (the same 8 sockets, frames, batching and credits with no scheduler and no storage),
 * the real volunteers against that no-op server (what the volunteer side alone costs), and BullMQ on the
 * local Redis with 8 workers × concurrency 1.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchContext, BenchResult } from './lib/bench.ts';
import { Master, type MasterOptions } from './lib/master.ts';
import { ClientProcess, CpuMeter, sleep, waitUntil } from './lib/proc.ts';
import { summarize, type Summary } from './lib/stats.ts';
import { fmt, verdict, Verdict, type Row } from './lib/table.ts';

const CONNECTIONS = 8;
const THREADS = 1;
/**
 * Leases per thread: 4, the most the master grants (maxCredits = 4 × threads), which `barnraise worker`'s
 * default adaptive prefetch reaches once tasks take under 20 ms, as these do. The raw limit gets the same
 * credits. The full run repeats both at 2 (the adaptive prefetch's starting point) as a diagnostic.
 */
const PREFETCH = 4;
const LOW_PREFETCH = 2;
const REDIS = { host: '127.0.0.1', port: 6379 };

interface Throughput {
  tasks: number;
  ms: number;
  tasksPerSecond: number;
  /** Cores busy on average in the server and the client process while it ran. */
  serverCores: number;
  clientCores: number;
}

const tps = (tasks: number, ms: number) => (tasks * 1000) / ms;
/** Microseconds of CPU per task, from the cores a process kept busy over a run. */
const cpuPerTask = (cores: number, run: { tasks: number; ms: number }) => (cores * run.ms * 1000) / run.tasks;

/** The Barnraise run; `prefetch` is the headless worker's leases per thread (its default is 2). */
export async function barnraise(ctx: BenchContext, tasks: number, warm: number, masterOptions: MasterOptions = {}, prefetch = PREFETCH) {
  ctx.log(`barnraise: prefetch ${prefetch}${masterOptions.dataRoot ? `, data dir under ${masterOptions.dataRoot}` : ''}`);
  // --profile: CPU profiles of the master (each of its threads) and the volunteer process, for the main run.
  const prof = (who: string) => (ctx.profileDir && !masterOptions.dataRoot ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}/${who}`] : []);
  const master = await Master.start({ ...masterOptions, nodeArgs: prof('master') });
  const api = new Api(master.url, master.token);
  const volunteers = new ClientProcess(
    'volunteers.ts',
    ['--url', master.url, '--connections', String(CONNECTIONS), '--threads', String(THREADS), '--prefetch', String(prefetch)],
    {},
    prof('volunteers'),
  );
  try {
    await volunteers.next('started', 30_000);
    await waitUntil(`${CONNECTIONS} volunteers joined`, async () => (await api.stats()).volunteers === CONNECTIONS, 30_000, 50);
    // Warm-up (JIT, worker threads loading the job code): a small job, not measured.
    const w = await api.createJob({ name: 'warm-up', code: PLUS_ONE, inputs: range(warm) });
    await api.waitCompleted(w.id, 60_000);

    const body = JSON.stringify({ name: 'dispatch', code: PLUS_ONE, inputs: range(tasks) });
    ctx.log(`barnraise: ${fmt(tasks)} tasks on ${CONNECTIONS} connections`);
    const cpuMaster = new CpuMeter(master.pid);
    const cpuClient = new CpuMeter(volunteers.pid);
    const t0 = performance.now();
    const job = await api.createJobRaw(body);
    const t201 = performance.now();
    const { at, job: final } = await api.waitCompleted(job.id, 20 * 60_000, 20);
    const ms = at - t0;
    const serverCores = cpuMaster.read().cores;
    const clientCores = cpuClient.read().cores;
    if (final.counts.done !== tasks) throw new Error(`dispatch job ended with ${JSON.stringify(final.counts)}`);
    await volunteers.stop();
    await master.stop();

    // [D6] A task's done attempt (when it was leased, when the master accepted its result) is on its row;
    // the attempts table keeps only the others (failed, lost).
    const db = new Database(master.dbFile, { readonly: true, fileMustExist: true });
    let latency: Summary;
    let correct: number;
    try {
      const seq = (db.prepare('SELECT seq FROM jobs WHERE id = ?').get(job.id) as { seq: number }).seq;
      const rows = db.prepare('SELECT ended_at - leased_at AS d FROM tasks WHERE job_seq = ? AND state = 2 AND leased_at IS NOT NULL').pluck().all(seq) as number[];
      latency = summarize(rows);
      correct = (db.prepare('SELECT COUNT(*) FROM tasks WHERE job_seq = ? AND state = 2 AND CAST(output AS INTEGER) = idx + 1').pluck().get(seq) as number) ?? 0;
    } finally {
      db.close();
    }
    if (correct !== tasks) throw new Error(`only ${correct} of ${tasks} results are n + 1`);
    const result: Throughput = { tasks, ms, tasksPerSecond: tps(tasks, ms), serverCores, clientCores };
    return { ...result, msTo201: t201 - t0, dispatchMs: at - t201, latencyMs: latency };
  } finally {
    await volunteers.stop();
    await master.dispose();
  }
}

/** The no-op server (clients/raw-master.ts) with a given client process; warm-up run, then the measured run. */
async function againstNoopServer(ctx: BenchContext, label: string, tasks: number, warm: number, client: (url: string) => ClientProcess) {
  const server = new ClientProcess('raw-master.ts', ['--connections', String(CONNECTIONS)]);
  let volunteers: ClientProcess | null = null;
  try {
    const { port } = await server.next<{ type: string; port: number }>('listening', 30_000);
    volunteers = client(`http://127.0.0.1:${port}`);
    await server.next('ready', 30_000);
    await sleep(200);
    server.send({ type: 'go', tasks: warm });
    await server.next('done', 60_000);
    ctx.log(`${label}: ${fmt(tasks)} tasks on ${CONNECTIONS} connections`);
    const cpuServer = new CpuMeter(server.pid);
    const cpuClient = new CpuMeter(volunteers.pid);
    server.send({ type: 'go', tasks });
    const done = await server.next<{ type: string; ms: number; framesIn: number; itemsIn: number; framesOut: number; itemsOut: number }>('done', 10 * 60_000);
    return {
      tasks,
      ms: done.ms,
      tasksPerSecond: tps(tasks, done.ms),
      serverCores: cpuServer.read().cores,
      clientCores: cpuClient.read().cores,
      itemsPerTasksFrame: done.itemsOut / done.framesOut,
      itemsPerResultsFrame: done.itemsIn / done.framesIn,
    };
  } finally {
    await volunteers?.stop();
    await server.stop();
  }
}

async function redisReachable(): Promise<string | null> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

async function bullmq(ctx: BenchContext, tasks: number, warm: number) {
  const name = `barnraise-bench-${randomBytes(4).toString('hex')}`;
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const queue = new Queue<{ n: number }, number>(name, { connection });
  const workers = new ClientProcess('bullmq-workers.ts', ['--queue', name, '--workers', String(CONNECTIONS), '--concurrency', String(THREADS)]);
  const persistence = await (async () => {
    const redis = new Redis({ ...REDIS, lazyConnect: true });
    try {
      await redis.connect();
      const aof = (await redis.config('GET', 'appendonly')) as string[];
      const fsync = (await redis.config('GET', 'appendfsync')) as string[];
      const save = (await redis.config('GET', 'save')) as string[];
      return { appendonly: aof[1], appendfsync: fsync[1], save: save[1] };
    } catch {
      return null;
    } finally {
      redis.disconnect();
    }
  })();
  const add = async (n: number) => {
    for (let start = 0; start < n; start += 1000) {
      const chunk = range(Math.min(1000, n - start)).map((k) => ({ name: 't', data: { n: start + k } }));
      await queue.addBulk(chunk);
    }
  };
  try {
    await queue.obliterate({ force: true });
    await workers.next('ready', 30_000);
    await add(warm);
    await waitUntil('BullMQ warm-up', async () => (await queue.getCompletedCount()) >= warm, 60_000, 50);
    await queue.clean(0, 0, 'completed');
    ctx.log(`bullmq: ${fmt(tasks)} jobs on ${CONNECTIONS} workers`);
    const cpuClient = new CpuMeter(workers.pid);
    const t0 = performance.now();
    await add(tasks);
    const at = await waitUntil(`${tasks} BullMQ jobs completed`, async () => ((await queue.getCompletedCount()) >= tasks ? performance.now() : 0), 20 * 60_000, 20);
    const ms = at - t0;
    const clientCores = cpuClient.read().cores;
    // processedOn (taken by a worker) to finishedOn (completion recorded in Redis): BullMQ's lease→recorded.
    // Sampled evenly, pages of 500, at most 20,000 jobs.
    const pages = Math.min(40, Math.ceil(tasks / 500));
    const span = Math.floor(tasks / pages);
    const latencies: number[] = [];
    for (let p = 0; p < pages; p++) {
      const jobs = await queue.getJobs(['completed'], p * span, p * span + 499, true);
      for (const j of jobs) if (j.processedOn && j.finishedOn) latencies.push(j.finishedOn - j.processedOn);
    }
    return { tasks, ms, tasksPerSecond: tps(tasks, ms), clientCores, latencyMs: summarize(latencies), persistence };
  } finally {
    await workers.stop();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export const dispatchBench: Bench = async (ctx): Promise<BenchResult> => {
  const tasks = ctx.quick ? 10_000 : 200_000;
  const warm = ctx.quick ? 1_000 : 5_000;
  const b = await barnraise(ctx, tasks, warm);
  const raw = await againstNoopServer(ctx, 'raw limit', tasks, warm, (url) =>
    new ClientProcess('raw-volunteers.ts', ['--url', url, '--connections', String(CONNECTIONS), '--credits', String(THREADS * PREFETCH)]),
  );
  // Diagnostic, full run only (it costs two more process starts): the real volunteers against the no-op server.
  const headlessNoop = ctx.quick
    ? null
    : await againstNoopServer(ctx, 'headless volunteers vs no-op server', tasks, warm, (url) =>
        new ClientProcess('volunteers.ts', ['--url', url, '--connections', String(CONNECTIONS), '--threads', String(THREADS), '--prefetch', String(PREFETCH)]),
      );
  // Diagnostic, full run only: the same with the data dir on tmpfs, where fsync costs nothing: what the disk
  // still costs dispatch now that commits run on the store thread.
  const tmpfs = !ctx.quick && fs.existsSync('/dev/shm') ? await barnraise(ctx, tasks, warm, { dataRoot: '/dev/shm' }) : null;
  // Diagnostic, full run only: both sides at 2 leases per connection, to show how in-flight depth moves both.
  const low = ctx.quick
    ? null
    : {
        barnraise: await barnraise(ctx, tasks, warm, {}, LOW_PREFETCH),
        raw: await againstNoopServer(ctx, 'raw limit, 2 credits', tasks, warm, (url) =>
          new ClientProcess('raw-volunteers.ts', ['--url', url, '--connections', String(CONNECTIONS), '--credits', String(THREADS * LOW_PREFETCH)]),
        ),
      };
  const redisVersion = await redisReachable();
  const bull = redisVersion ? await bullmq(ctx, tasks, warm) : null;

  const ofRaw = b.tasksPerSecond / raw.tasksPerSecond;
  const rows: Row[] = [
    {
      bench: 'dispatch',
      figure: `end to end, ${fmt(tasks)} tasks, ${CONNECTIONS} connections`,
      value: `${fmt(b.tasksPerSecond)} tasks/s`,
      beside: `raw limit ${fmt(raw.tasksPerSecond)} tasks/s (${fmt(ofRaw * 100)}%)`,
      target: '>= 50% of raw',
      verdict: verdict(ofRaw, { atLeast: 0.5 }),
    },
    bull
      ? {
          bench: 'dispatch',
          figure: 'against BullMQ, same workers × concurrency',
          value: `${fmt(b.tasksPerSecond)} tasks/s`,
          beside: `BullMQ ${fmt(bull.tasksPerSecond)} jobs/s (${fmt(b.tasksPerSecond / bull.tasksPerSecond, 2)}×)`,
          target: '>= 3× BullMQ',
          verdict: verdict(b.tasksPerSecond / bull.tasksPerSecond, { atLeast: 3 }),
        }
      : { bench: 'dispatch', figure: 'against BullMQ', value: `${fmt(b.tasksPerSecond)} tasks/s`, beside: 'skipped (redis unreachable)', target: '>= 3× BullMQ', verdict: Verdict.skipped },
    {
      bench: 'dispatch',
      figure: 'lease → recorded p50 / p99',
      value: `${fmt(b.latencyMs.p50)} / ${fmt(b.latencyMs.p99)} ms`,
      beside: bull ? `BullMQ processed → finished ${fmt(bull.latencyMs.p50)} / ${fmt(bull.latencyMs.p99)} ms` : 'n/a',
      target: '',
      verdict: Verdict.info,
    },
    {
      bench: 'dispatch',
      figure: 'time to 201 / 201 → completed',
      value: `${fmt(b.msTo201)} / ${fmt(b.dispatchMs)} ms`,
      beside: `${fmt(tps(tasks, b.dispatchMs))} tasks/s after the 201`,
      target: '',
      verdict: Verdict.info,
    },
    {
      bench: 'dispatch',
      figure: 'CPU busy: master / volunteer process',
      value: `${fmt(b.serverCores, 2)} / ${fmt(b.clientCores, 2)} cores`,
      beside: `raw: server ${fmt(raw.serverCores, 2)} / client ${fmt(raw.clientCores, 2)} cores`,
      target: '',
      verdict: Verdict.info,
    },
    {
      bench: 'dispatch',
      figure: 'CPU per task: master / volunteer process',
      value: `${fmt(cpuPerTask(b.serverCores, b))} / ${fmt(cpuPerTask(b.clientCores, b))} µs`,
      beside: `raw: server ${fmt(cpuPerTask(raw.serverCores, raw))} / client ${fmt(cpuPerTask(raw.clientCores, raw))} µs`,
      target: '',
      verdict: Verdict.info,
    },
    ...(tmpfs
      ? [
          {
            bench: 'dispatch',
            figure: 'the same, store on tmpfs (fsync free)',
            value: `${fmt(tmpfs.tasksPerSecond)} tasks/s`,
            beside: `on disk ${fmt(b.tasksPerSecond)} tasks/s; p50 / p99 ${fmt(tmpfs.latencyMs.p50)} / ${fmt(tmpfs.latencyMs.p99)} ms`,
            target: '',
            verdict: Verdict.info,
          },
        ]
      : []),
    ...(low
      ? [
          {
            bench: 'dispatch',
            figure: `the same at ${LOW_PREFETCH} leases per connection`,
            value: `${fmt(low.barnraise.tasksPerSecond)} tasks/s`,
            beside: `raw limit at ${LOW_PREFETCH} credits ${fmt(low.raw.tasksPerSecond)} tasks/s (${fmt((low.barnraise.tasksPerSecond / low.raw.tasksPerSecond) * 100)}%)${bull ? `; ${fmt(low.barnraise.tasksPerSecond / bull.tasksPerSecond, 2)}× BullMQ` : ''}`,
            target: '',
            verdict: Verdict.info,
          },
        ]
      : []),
    ...(headlessNoop
      ? [
          {
            bench: 'dispatch',
            figure: 'headless volunteers vs a no-op server',
            value: `${fmt(headlessNoop.tasksPerSecond)} tasks/s`,
            beside: `raw client ${fmt(raw.tasksPerSecond)} tasks/s; items per tasks/results frame ${fmt(headlessNoop.itemsPerTasksFrame, 2)} / ${fmt(headlessNoop.itemsPerResultsFrame, 2)} (raw ${fmt(raw.itemsPerTasksFrame, 2)} / ${fmt(raw.itemsPerResultsFrame, 2)})`,
            target: '',
            verdict: Verdict.info,
          },
        ]
      : []),
  ];
  return {
    name: 'dispatch',
    rows,
    data: { tasks, warmUpTasks: warm, connections: CONNECTIONS, threadsPerConnection: THREADS, prefetch: PREFETCH, barnraise: b, barnraiseOnTmpfs: tmpfs ?? 'not run (quick)', atLowPrefetch: low ?? 'not run (quick)', rawLimit: raw, headlessVsNoopServer: headlessNoop ?? 'not run (quick)', bullmq: bull ?? 'skipped (redis unreachable)', redisVersion },
    notes: [
      `Barnraise: ${fmt(tasks)} tasks of n => n + 1 on the SQLite store (WAL, synchronous=FULL, group commit every 10 ms), ${CONNECTIONS} HeadlessVolunteer connections × ${THREADS} thread, prefetch ${PREFETCH}, all in one client process; timed from just before POST /api/jobs until GET /api/jobs/:id first reads completed (polled every 20 ms), after a ${fmt(warm)}-task warm-up job.`,
      'Lease → recorded: ended_at − leased_at of every done attempt in the attempts table (ms resolution); ended_at is when the master accepted the result in memory; the result is durable at most one commit window (10 ms) plus the commit later.',
      `Raw limit: a ws server (no validation, no scheduler, no storage) and ${CONNECTIONS} raw sockets in one client process, the same frames (tasks items {a, job, i, input}, results items {a, ok, output, ms} with want), ${THREADS * PREFETCH} credits per connection, one dispatch per event-loop turn, acks every 10 ms, n + 1 computed inline.`,
      'Store on tmpfs (full run): the Barnraise run again with the data dir in /dev/shm, where fsync is free; the master commits on its store thread, so the difference is what the disk still costs dispatch.',
      `At ${LOW_PREFETCH} leases per connection (full run): Barnraise with --prefetch ${LOW_PREFETCH} and the raw limit with ${THREADS * LOW_PREFETCH} credits, the same otherwise.`,
      'Headless volunteers vs a no-op server: the real HeadlessVolunteer process against the raw-limit server; the gap to the raw client is the volunteer side (worker_threads hop, schema check of every frame).',
      bull
        ? `BullMQ ${'6.7'}: Queue.addBulk in chunks of 1,000 from the bench process, ${CONNECTIONS} Worker × concurrency ${THREADS} in one process, Redis ${redisVersion} at 127.0.0.1:6379 (persistence: ${JSON.stringify(bull.persistence)}: nothing is fsynced, unlike Barnraise); completed jobs kept (as Barnraise keeps results); timed from the first addBulk until getCompletedCount() = N (polled every 20 ms); latency sampled over up to 20,000 completed jobs.`
        : 'BullMQ: skipped, Redis at 127.0.0.1:6379 did not answer.',
    ],
  };
};
