/**
 * The setup people actually run (issue 13): a master started the README's way and several `barnraise worker`
 * processes on the same machine, every setting at its default, beside BullMQ on the local Redis with 4 worker
 * processes × concurrency 50 on the same tasks, in the same run. Measured: tasks per second from just before
 * the POST until the job reads `completed` (every result durable), CPU per task of the master and of all the
 * worker processes together (from /proc, every thread of each process), and what the workers and the master
 * cost while connected with no work.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchContext, BenchResult } from './lib/bench.ts';
import { Master, type MasterOptions } from './lib/master.ts';
import { BARNRAISE_BIN, ClientProcess, CpuMeter, sleep, spawnNode, stopProcess, ThreadCpuMeter, waitUntil } from './lib/proc.ts';
import { fmt, verdict, Verdict, type Row } from './lib/table.ts';

const REDIS = { host: '127.0.0.1', port: 6379 };
/** Issue 13's goals. */
const TARGET = { timesBullmq: 3, masterUs: 15, volunteerUs: 20 };

export interface Setup {
  label: string;
  processes: number;
  /** `--threads` for each worker; undefined: the worker's default (cores − 1, at least 1). */
  threads?: number;
  /**
   * The job's validation mode (default none). Validation needs distinct volunteers, so with it each worker
   * gets an identity file of its own (`--identity`), as separate machines would have.
   */
  validation?: 'adaptive';
  /**
   * Run the job a third time with V8's sampling heap profiler on the master (started with the inspector on
   * loopback for it): bytes allocated per task, a figure that does not swing with the machine's load as CPU
   * time does, so a change to the hot path can be judged by it on a noisy machine.
   */
  allocations?: boolean;
}

/** What one measured job cost, from just before its POST until it reads `completed`. */
export interface JobFigures {
  ms: number;
  tasksPerSecond: number;
  /** CPU microseconds per task: the master process, and all the worker processes together. */
  masterUs: number;
  /** The master's CPU microseconds per task by thread: event loop, store thread (its busiest other), the rest. */
  masterThreadsUs: { eventLoop: number; store: number; rest: number };
  volunteersUs: number;
}

export interface SetupRun {
  setup: Setup;
  tasks: number;
  /**
   * The first measured job, after a warm-up a tenth its size: the master's and the workers' hot code is still
   * being compiled by V8 (its optimizing compiler runs on other threads) and partly runs as baseline code.
   */
  cold: JobFigures;
  /** The same job again on the same processes: what a master that has been running a while pays a task. */
  warm: JobFigures;
  /** Bytes the master's main thread allocated per task in a third run of the job (`allocations`), or null. */
  allocatedBytes: number | null;
  /** Cores busy while connected with no work, over `idleSeconds`: the master, and the workers together. */
  idle: { seconds: number; masterCores: number; volunteersCores: number };
}

/** One setup: a fresh master, `processes` workers, a warm-up job, the measured job, then an idle spell. */
export async function runSetup(ctx: BenchContext, setup: Setup, tasks: number, warm: number, idleSeconds: number, masterOptions: MasterOptions = {}): Promise<SetupRun> {
  const prof = (who: string) => (ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}/${setup.label.replace(/\W+/g, '-')}/${who}`] : []);
  const master = await Master.start({ ...masterOptions, nodeArgs: prof('master'), ...(setup.allocations ? { inspect: true } : {}) });
  const api = new Api(master.url, master.token);
  const ids = setup.validation ? fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-ids-')) : null;
  const workers = Array.from({ length: setup.processes }, (_, k) =>
    spawnNode(
      BARNRAISE_BIN,
      ['worker', '--url', master.url, ...(setup.threads ? ['--threads', String(setup.threads)] : []), ...(ids ? ['--identity', path.join(ids, `w${k}.json`)] : [])],
      { nodeArgs: k === 0 ? prof('worker') : [] },
    ),
  );
  try {
    await waitUntil(`${setup.processes} workers joined`, async () => (await api.stats()).volunteers === setup.processes, 60_000, 50);
    const validation = setup.validation ? { validation: { mode: setup.validation } } : {};
    const w = await api.createJob({ name: 'warm-up', code: PLUS_ONE, inputs: range(warm), ...validation });
    await api.waitCompleted(w.id, 60_000);
    await sleep(300);

    const body = JSON.stringify({ name: 'common', code: PLUS_ONE, inputs: range(tasks), ...validation });
    ctx.log(`${setup.label}: ${fmt(tasks)} tasks, twice`);
    const measure = (completed?: () => Promise<unknown>) => measureJob(api, master.pid, workers.map((p) => p.child.pid!), body, tasks, setup.label, completed);
    const cold = await measure();
    await sleep(300);
    const again = await measure();
    let allocatedBytes: number | null = null;
    if (setup.allocations) {
      await sleep(300);
      const stopSampling = await master.sampleAllocations();
      // Stopped as the job completes: reading its results back (the check below) is not the job's.
      if (stopSampling) await measure(async () => (allocatedBytes = (await stopSampling()) / tasks));
    }

    // Connected with no work: heartbeats only. A volunteer that spins or polls shows here.
    await sleep(1000);
    const idleMaster = new CpuMeter(master.pid);
    const idleWorkers = workers.map((p) => new CpuMeter(p.child.pid!));
    await sleep(idleSeconds * 1000);
    const idle = { seconds: idleSeconds, masterCores: idleMaster.read().cores, volunteersCores: idleWorkers.reduce((s, m) => s + m.read().cores, 0) };
    return { setup, tasks, cold, warm: again, allocatedBytes, idle };
  } finally {
    await Promise.all(workers.map((p) => stopProcess(p.child)));
    await master.dispose();
    if (ids) fs.rmSync(ids, { recursive: true, force: true });
  }
}

/** One job of `tasks` trivial tasks on a running setup: its rate and CPU per task, its results checked. */
async function measureJob(api: Api, masterPid: number, workerPids: number[], body: string, tasks: number, label: string, completed?: () => Promise<unknown>): Promise<JobFigures> {
  const cpuMaster = new CpuMeter(masterPid);
  const threadsMaster = new ThreadCpuMeter(masterPid);
  const cpuWorkers = workerPids.map((pid) => new CpuMeter(pid));
  const t0 = performance.now();
  const job = await api.createJobRaw(body);
  const { at, job: final } = await api.waitCompleted(job.id, 10 * 60_000, 20);
  const ms = at - t0;
  const masterCpu = cpuMaster.read().cpuSeconds;
  const split = threadsMaster.read();
  const workersCpu = cpuWorkers.reduce((s, m) => s + m.read().cpuSeconds, 0);
  await completed?.();
  if (final.counts.done !== tasks) throw new Error(`${label}: job ended with ${JSON.stringify(final.counts)}`);
  const lines = await api.results(job.id);
  const wrong = lines.filter((l) => l.status !== 'done' || l.output !== l.index + 1).length;
  if (lines.length !== tasks || wrong > 0) throw new Error(`${label}: ${lines.length} result lines, ${wrong} wrong`);
  const perTask = (cpuSeconds: number) => (cpuSeconds * 1e6) / tasks;
  return {
    ms,
    tasksPerSecond: (tasks * 1000) / ms,
    masterUs: perTask(masterCpu),
    masterThreadsUs: { eventLoop: perTask(split.main), store: perTask(split.busiest), rest: perTask(split.rest) },
    volunteersUs: perTask(workersCpu),
  };
}

/** BullMQ: 4 worker processes × concurrency 50 (the comparison issue 13 names), `tasks` jobs added in bulk. */
export async function bullmqRun(ctx: BenchContext, tasks: number, warm: number, processes = 4, concurrency = 50) {
  const name = `barnraise-common-${randomBytes(4).toString('hex')}`;
  const queue = new Queue<{ n: number }, number>(name, { connection: { ...REDIS, maxRetriesPerRequest: null } });
  const workers = Array.from({ length: processes }, () => new ClientProcess('bullmq-workers.ts', ['--queue', name, '--workers', '1', '--concurrency', String(concurrency)]));
  const add = async (n: number) => {
    for (let start = 0; start < n; start += 1000) await queue.addBulk(range(Math.min(1000, n - start)).map((k) => ({ name: 't', data: { n: start + k } })));
  };
  try {
    await queue.obliterate({ force: true });
    await Promise.all(workers.map((w) => w.next('ready', 30_000)));
    await add(warm);
    await waitUntil('BullMQ warm-up', async () => (await queue.getCompletedCount()) >= warm, 60_000, 50);
    await queue.clean(0, 0, 'completed');
    ctx.log(`bullmq: ${fmt(tasks)} jobs, ${processes} processes × concurrency ${concurrency}`);
    const cpu = workers.map((w) => new CpuMeter(w.pid));
    const t0 = performance.now();
    await add(tasks);
    const at = await waitUntil(`${tasks} BullMQ jobs completed`, async () => ((await queue.getCompletedCount()) >= tasks ? performance.now() : 0), 10 * 60_000, 20);
    const ms = at - t0;
    const workersCpu = cpu.reduce((s, m) => s + m.read().cpuSeconds, 0);
    return { tasks, ms, tasksPerSecond: (tasks * 1000) / ms, workersUs: (workersCpu * 1e6) / tasks, processes, concurrency };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

export const commonBench: Bench = async (ctx): Promise<BenchResult> => {
  const tasks = ctx.quick ? 5_000 : 50_000;
  const warm = ctx.quick ? 500 : 5_000;
  const idleSeconds = ctx.quick ? 2 : 5;
  const setups: Setup[] = ctx.quick
    ? [{ label: '4 workers × default threads', processes: 4 }]
    : [
        { label: '4 workers × default threads', processes: 4, allocations: true },
        { label: '4 workers × 2 threads', processes: 4, threads: 2 },
        { label: '1 worker × 2 threads', processes: 1, threads: 2 },
        { label: '4 workers × default threads, adaptive validation', processes: 4, validation: 'adaptive' },
      ];
  const runs: SetupRun[] = [];
  const rows: Row[] = [];
  const b = 'common';
  for (const s of setups) {
    try {
      runs.push(await runSetup(ctx, s, tasks, warm, idleSeconds));
    } catch (err) {
      // One setup failing (a stalled job) is reported; the others still give their figures.
      const message = (err as Error).message.split('\n')[0]!.slice(0, 200);
      ctx.log(`${s.label}: ERROR ${message}`);
      rows.push({ bench: b, figure: `${s.label}: run`, value: 'failed', beside: message, target: '', verdict: Verdict.error });
    }
  }
  const bull = await bullmqRun(ctx, tasks, warm);

  rows.push({ bench: b, figure: `BullMQ, 4 processes × concurrency 50: ${fmt(tasks)} jobs`, value: `${fmt(bull.tasksPerSecond)} jobs/s`, beside: `workers ${fmt(bull.workersUs)} µs CPU per job (all four)`, target: '', verdict: Verdict.info });
  const split = (f: JobFigures) => `event loop ${fmt(f.masterThreadsUs.eventLoop, 1)}, store thread ${fmt(f.masterThreadsUs.store, 1)}, other threads ${fmt(f.masterThreadsUs.rest, 1)} µs`;
  for (const r of runs) {
    const { cold, warm } = r;
    const times = cold.tasksPerSecond / bull.tasksPerSecond;
    if (r.setup.validation) {
      // What validation adds (issue 13 asks to say it, with no target of its own): beside the same setup without.
      const plain = runs.find((p) => p.setup.processes === r.setup.processes && p.setup.threads === r.setup.threads && !p.setup.validation);
      rows.push({ bench: b, figure: `${r.setup.label}: ${fmt(tasks)} tasks, tasks/s`, value: fmt(cold.tasksPerSecond), beside: plain ? `without validation ${fmt(plain.cold.tasksPerSecond)}` : '', target: '', verdict: Verdict.info });
      rows.push({ bench: b, figure: `${r.setup.label}: master / volunteer CPU per task, warm`, value: `${fmt(warm.masterUs, 1)} / ${fmt(warm.volunteersUs, 1)} µs`, beside: `${plain ? `without validation ${fmt(plain.warm.masterUs, 1)} / ${fmt(plain.warm.volunteersUs, 1)} µs; ` : ''}the first job ${fmt(cold.masterUs, 1)} / ${fmt(cold.volunteersUs, 1)} µs`, target: '', verdict: Verdict.info });
      continue;
    }
    rows.push({ bench: b, figure: `${r.setup.label}: ${fmt(tasks)} tasks, tasks/s`, value: fmt(cold.tasksPerSecond), beside: `${times.toFixed(2)}× BullMQ; the same job again ${fmt(warm.tasksPerSecond)}`, target: `>= ${TARGET.timesBullmq}× BullMQ`, verdict: verdict(times, { atLeast: TARGET.timesBullmq }) });
    rows.push({ bench: b, figure: `${r.setup.label}: master CPU per task, warm (the job again)`, value: `${fmt(warm.masterUs, 1)} µs`, beside: `${((warm.masterUs * warm.tasksPerSecond) / 1e6).toFixed(2)} cores busy; ${split(warm)}`, target: `<= ${TARGET.masterUs} µs`, verdict: verdict(warm.masterUs, { atMost: TARGET.masterUs }) });
    if (r.allocatedBytes !== null) rows.push({ bench: b, figure: `${r.setup.label}: master, bytes allocated per task (main thread, a third run)`, value: `${fmt(r.allocatedBytes)} B`, beside: 'V8 sampling heap profiler, freed objects counted; the store thread not included', target: '', verdict: Verdict.info });
    rows.push({ bench: b, figure: `${r.setup.label}: master CPU per task, the first job`, value: `${fmt(cold.masterUs, 1)} µs`, beside: split(cold), target: '', verdict: Verdict.info });
    rows.push({ bench: b, figure: `${r.setup.label}: volunteer CPU per task (all processes), warm`, value: `${fmt(warm.volunteersUs, 1)} µs`, beside: `${((warm.volunteersUs * warm.tasksPerSecond) / 1e6).toFixed(2)} cores busy; the first job ${fmt(cold.volunteersUs, 1)} µs`, target: `<= ${TARGET.volunteerUs} µs`, verdict: verdict(warm.volunteersUs, { atMost: TARGET.volunteerUs }) });
    rows.push({ bench: b, figure: `${r.setup.label}: connected, no work (${r.idle.seconds} s)`, value: `workers ${(r.idle.volunteersCores * 100).toFixed(2)}% of a core`, beside: `master ${(r.idle.masterCores * 100).toFixed(2)}%`, target: 'rounds to 0', verdict: verdict(r.idle.volunteersCores, { atMost: 0.005 }) });
  }
  return {
    name: 'common',
    rows,
    data: { runs, bullmq: bull },
    notes: [
      'Master: `barnraise serve` defaults (SQLite, durable) with the suite\'s raised per-address limits; workers: `barnraise worker --url` at defaults (threads = cores − 1) or with --threads 2; same machine.',
      'BullMQ: 4 processes each with one Worker of concurrency 50 on the local Redis, jobs added with addBulk in 1,000s.',
      `Each setup runs the measured job twice on the same master and workers. The first (after a ${fmt(warm)}-task warm-up) gives tasks/s and × BullMQ (BullMQ had the same warm-up); its CPU per task includes V8 still compiling the hot path, which a master pays once in its life. The second ("warm") is what a master that has run a while pays a task: the CPU targets are read on it, with the first beside.`,
      'The full run\'s first setup runs its job a third time with V8\'s sampling heap profiler on the master (its inspector on loopback): bytes allocated a task on the main thread, freed objects counted. Unlike CPU time it does not swing with the machine\'s load, so a change to the hot path can be judged by it on a noisy machine.',
    ],
  };
};
