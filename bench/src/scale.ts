/**
 * 2. Connection scale: 1,000, 5,000 and 10,000 idle volunteer connections (hello, then a heartbeat every
 * idleHeartbeatMs, nothing else) from one client process, added step by step to one master. At each step:
 * the master's RSS (from /proc) and heap (process.memoryUsage() after a full GC, over the V8 inspector)
 * per connection against the empty master, its CPU while they are idle (heartbeats, the lease ticker and
 * the swarm broadcast) against the empty master's, and the time for a 10-task job to complete while they
 * are connected, against the same with none connected. First, on a master of its own, 2,000 busy
 * connections sending one result a frame (busySwarm): the master's CPU per task in a real swarm's pattern.
 */
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchContext, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { ClientProcess, CpuMeter, readMemory, sleep, ThreadCpuMeter, waitUntil } from './lib/proc.ts';
import { RawVolunteer } from './lib/raw-volunteer.ts';
import { median } from './lib/stats.ts';
import { fmt, mb, verdict, Verdict, type Row } from './lib/table.ts';

const TARGET_CONNECTIONS = 10_000;
const TARGET_RSS = 500e6;
/** Connections that work in the busy window, and how long each holds a lease (2 threads on 1-second tasks). */
const BUSY_CONNECTIONS = 2_000;
const BUSY_HOLD_MS = 500;

/** Submit a 10-task job and time it to `completed` (polled every 5 ms); `reps` times, median and max. */
async function smallJobLatency(api: Api, reps: number): Promise<{ median: number; max: number; all: number[] }> {
  const all: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    const job = await api.createJob({ name: 'small', code: PLUS_ONE, inputs: range(10) });
    const { at } = await api.waitCompleted(job.id, 60_000, 5);
    all.push(at - t0);
  }
  return { median: median(all), max: Math.max(...all), all };
}

interface Step {
  connections: number;
  open: number;
  refused: number;
  connectMs: number;
  rss: number;
  heapUsed: number | null;
  rssPerConnection: number;
  heapPerConnection: number | null;
  masterCores: number;
  heartbeatCores: number;
  swarmClientCores: number;
  smallJobMs: { median: number; max: number; all: number[] };
  smallJobHungryMs: { median: number; max: number; all: number[] };
}

/**
 * Busy: a master of its own and a swarm whose every connection works as a tab on long tasks does (an
 * outcome every BUSY_HOLD_MS, one lease at a time). What the master spends per task when every result comes
 * alone on its own connection, the way a real swarm sends them (rather than many to a frame, as in the
 * dispatch and common benchmarks).
 */
async function busySwarm(ctx: BenchContext, windowMs: number, settleMs: number) {
  const count = ctx.quick ? 1_000 : BUSY_CONNECTIONS;
  const master = await Master.start();
  const api = new Api(master.url, master.token);
  let swarm: ClientProcess | null = null;
  try {
    await sleep(settleMs);
    const empty = new CpuMeter(master.pid);
    await sleep(Math.min(windowMs, 5_000));
    const emptyCores = empty.read().cores;
    swarm = new ClientProcess('idle-swarm.ts', ['--url', master.url, '--parallel', '200']);
    await swarm.next('started', 30_000);
    swarm.send({ type: 'grow', to: count });
    await swarm.next('grown', 180_000);
    await waitUntil(`${count} volunteers on the master`, async () => (await api.stats()).volunteers === count || null, 60_000, 100);
    // Enough work for the warm-up and the window, with room to spare.
    const job = await api.createJob({ name: 'busy', code: PLUS_ONE, inputs: range(Math.ceil((count * (windowMs + 2 * settleMs + 10_000)) / BUSY_HOLD_MS)) });
    swarm.send({ type: 'busy', count, holdMs: BUSY_HOLD_MS });
    await swarm.next('busy', 30_000);
    // Warm-up: the first round's outcomes come at random, then every BUSY_HOLD_MS.
    await sleep(2 * settleMs + BUSY_HOLD_MS);
    const cpu = new CpuMeter(master.pid);
    const threads = new ThreadCpuMeter(master.pid);
    const cpuSwarm = new CpuMeter(swarm.pid);
    const done0 = (await api.job(job.id)).counts.done;
    await sleep(windowMs);
    const tasks = (await api.job(job.id)).counts.done - done0;
    const c = cpu.read();
    const t = threads.read();
    const swarmClientCores = cpuSwarm.read().cores;
    await api.cancel(job.id);
    // The empty master's own CPU (its tickers) is not the tasks' cost; the busy connections' beats and
    // swarm frames are.
    const usPerTask = ((c.cores - emptyCores) * c.wallSeconds * 1e6) / tasks;
    const perTask = (s: number) => (s / tasks) * 1e6;
    const busy = { connections: count, holdMs: BUSY_HOLD_MS, tasks, wallSeconds: c.wallSeconds, tasksPerSecond: tasks / c.wallSeconds, idealTasksPerSecond: (count * 1000) / BUSY_HOLD_MS, emptyCores, masterCores: c.cores, usPerTask, mainUs: perTask(t.main), storeUs: perTask(t.busiest), otherUs: perTask(t.rest), swarmClientCores };
    ctx.log(`${fmt(count)} busy: ${fmt(busy.tasksPerSecond)} tasks/s, master ${fmt(c.cores * 100, 1)}% of a core (empty ${fmt(emptyCores * 100, 1)}%), ${fmt(usPerTask, 1)} µs a task (main ${fmt(busy.mainUs, 1)}, store ${fmt(busy.storeUs, 1)}, other ${fmt(busy.otherUs, 1)})`);
    return busy;
  } finally {
    await swarm?.stop();
    await master.dispose();
  }
}

export const scaleBench: Bench = async (ctx: BenchContext): Promise<BenchResult> => {
  const steps = ctx.quick ? [2_000] : [1_000, 5_000, 10_000];
  const windowMs = ctx.quick ? 2_000 : 10_000;
  const settleMs = ctx.quick ? 1_000 : 3_000;
  const reps = ctx.quick ? 3 : 5;
  // First, on a master of its own, so that the idle steps' thousands of sockets do not weigh on it.
  const busy = await busySwarm(ctx, windowMs, settleMs);
  const master = await Master.start({ inspect: true });
  const api = new Api(master.url, master.token);
  let swarm: ClientProcess | null = null;
  let worker: RawVolunteer | null = null;
  try {
    // The one volunteer that does the small jobs' work: answers at once and gives its credits back.
    worker = new RawVolunteer({
      url: master.url,
      threads: 1,
      onTasks: (items, v) => v.results(items.map((t) => ({ a: t.a, ok: true, output: (t.input as number) + 1, ms: 0 })), items.length),
    });
    await worker.joined();
    worker.want(4);
    await smallJobLatency(api, 2); // warm-up
    await sleep(settleMs);
    const heartbeatMs = worker.welcome!.heartbeatMs;
    // Idle volunteers (no lease) beat this often (rule P5); the swarm beats so.
    const idleBeatMs = worker.welcome!.idleHeartbeatMs ?? heartbeatMs;
    // RSS right after a full GC (heapUsage collects first), the same way at every step.
    const baseHeap = await master.heapUsage();
    const base = { ...readMemory(master.pid), heap: baseHeap };
    const idle = new CpuMeter(master.pid);
    await sleep(windowMs);
    const baseCores = idle.read().cores;
    const baseLatency = await smallJobLatency(api, reps);
    ctx.log(`empty master: RSS ${mb(base.rss)}, heap ${base.heap ? mb(base.heap.heapUsed) : 'n/a'}, ${fmt(baseCores * 100, 1)}% CPU, small job ${fmt(baseLatency.median)} ms`);

    swarm = new ClientProcess('idle-swarm.ts', ['--url', master.url, '--parallel', '200']);
    await swarm.next('started', 30_000);
    const results: Step[] = [];
    for (const n of steps) {
      swarm.send({ type: 'grow', to: n });
      const grown = await swarm.next<{ type: string; count: number; refused: number; ms: number; closeCodes: Record<string, number> }>('grown', 180_000);
      ctx.log(`${fmt(grown.count)} idle connections open (${grown.refused} refused, close codes ${JSON.stringify(grown.closeCodes)}) in ${fmt(grown.ms)} ms`);
      await waitUntil(`${n} volunteers on the master`, async () => (await api.stats()).volunteers >= grown.count + 1, 30_000, 100);
      await sleep(settleMs);
      const heap = await master.heapUsage();
      const mem = readMemory(master.pid);
      const cpuMaster = new CpuMeter(master.pid);
      const cpuSwarm = new CpuMeter(swarm.pid);
      await sleep(windowMs);
      const masterCores = cpuMaster.read().cores;
      const swarmClientCores = cpuSwarm.read().cores;
      const smallJobMs = await smallJobLatency(api, reps);
      // The same with every idle connection holding credits (a swarm of started tabs waiting for work):
      // the small job is shared out among them.
      swarm.send({ type: 'want', n: 2 });
      await swarm.next('wanted', 30_000);
      await sleep(500);
      const smallJobHungryMs = await smallJobLatency(api, reps);
      swarm.send({ type: 'pause' });
      await swarm.next('paused', 30_000);
      const step: Step = {
        connections: n,
        open: grown.count,
        refused: grown.refused,
        connectMs: grown.ms,
        rss: mem.rss,
        heapUsed: heap?.heapUsed ?? null,
        rssPerConnection: (mem.rss - base.rss) / grown.count,
        heapPerConnection: heap && base.heap ? (heap.heapUsed - base.heap.heapUsed) / grown.count : null,
        masterCores,
        heartbeatCores: masterCores - baseCores,
        swarmClientCores,
        smallJobMs,
        smallJobHungryMs,
      };
      results.push(step);
      ctx.log(`${fmt(n)}: RSS ${mb(mem.rss)}, heap ${heap ? mb(heap.heapUsed) : 'n/a'}, ${fmt(masterCores * 100, 1)}% CPU, small job ${fmt(smallJobMs.median)} ms (hungry swarm ${fmt(smallJobHungryMs.median)} ms)`);
    }

    // Attribution at the largest step: the same idle window with the heartbeats stopped leaves the lease
    // ticker and the swarm broadcast (measured before the master's timeout drops the silent sockets).
    swarm.send({ type: 'silence' });
    await swarm.next('silenced', 30_000);
    const quietMs = Math.min(ctx.quick ? 2_000 : 5_000, idleBeatMs * 2.5);
    const cpuQuiet = new CpuMeter(master.pid);
    await sleep(quietMs);
    const quietCores = cpuQuiet.read().cores;
    ctx.log(`${fmt(steps[steps.length - 1]!)} silent: ${fmt(quietCores * 100, 1)}% CPU over ${fmt(quietMs)} ms`);

    const last = results[results.length - 1]!;
    const extrapolated = last.connections < TARGET_CONNECTIONS;
    const rssAtTarget = extrapolated ? base.rss + last.rssPerConnection * TARGET_CONNECTIONS : last.rss;
    const rows: Row[] = [];
    for (const s of results) {
      rows.push(
        {
          bench: 'scale',
          figure: `${fmt(s.connections)} idle: master RSS (per connection)`,
          value: `${mb(s.rss)} (${fmt(s.rssPerConnection / 1024, 1)} KB)`,
          beside: `empty master ${mb(base.rss)}`,
          target: s.connections === TARGET_CONNECTIONS ? '< 500 MB at 10,000' : '',
          verdict: s.connections === TARGET_CONNECTIONS ? verdict(s.rss, { atMost: TARGET_RSS - 1 }) : Verdict.info,
        },
        {
          bench: 'scale',
          figure: `${fmt(s.connections)} idle: heap after GC (per connection)`,
          value: s.heapUsed === null ? 'n/a' : `${mb(s.heapUsed)} (${fmt((s.heapPerConnection ?? NaN) / 1024, 1)} KB)`,
          beside: `empty master ${base.heap ? mb(base.heap.heapUsed) : 'n/a'}`,
          target: '',
          verdict: Verdict.info,
        },
        {
          bench: 'scale',
          figure: `${fmt(s.connections)} idle: master CPU (heartbeats every ${fmt(idleBeatMs)} ms)`,
          value: `${fmt(s.masterCores * 100, 1)}% of a core`,
          beside: `empty master ${fmt(baseCores * 100, 1)}%`,
          target: s.connections === TARGET_CONNECTIONS ? '<= 10% at 10,000' : '',
          verdict: s.connections === TARGET_CONNECTIONS ? verdict(s.masterCores, { atMost: 0.1 }) : Verdict.info,
        },
        {
          bench: 'scale',
          figure: `${fmt(s.connections)} idle: 10-task job to completed`,
          value: `${fmt(s.smallJobMs.median)} ms (hungry swarm ${fmt(s.smallJobHungryMs.median)} ms)`,
          beside: `none connected ${fmt(baseLatency.median)} ms`,
          target: '',
          verdict: Verdict.info,
        },
      );
    }
    rows.push({
      bench: 'scale',
      figure: `${fmt(last.connections)} connected, heartbeats stopped: master CPU`,
      value: `${fmt(quietCores * 100, 1)}% of a core`,
      beside: `with heartbeats ${fmt(last.masterCores * 100, 1)}%: heartbeats ${fmt((last.masterCores - quietCores) * 100, 1)}%`,
      target: '',
      verdict: Verdict.info,
    });
    rows.push({
      bench: 'scale',
      figure: `${fmt(busy.connections)} busy (an outcome every ${fmt(BUSY_HOLD_MS)} ms each): master CPU per task`,
      value: `${fmt(busy.usPerTask, 1)} µs (${fmt(busy.tasksPerSecond)} tasks/s, ${fmt(busy.masterCores * 100, 1)}% of a core)`,
      beside: `one master core: ${fmt(1e6 / busy.usPerTask)} tasks/s, ${fmt(1e6 / busy.usPerTask / 2)} volunteers × 2 threads on 1-second tasks`,
      target: '',
      verdict: Verdict.info,
    });
    if (extrapolated) {
      rows.push({
        bench: 'scale',
        figure: `10,000 idle: master RSS, extrapolated from ${fmt(last.connections)}`,
        value: mb(rssAtTarget),
        beside: `empty master ${mb(base.rss)}`,
        target: '< 500 MB at 10,000',
        verdict: verdict(rssAtTarget, { atMost: TARGET_RSS - 1 }),
      });
    }
    return {
      name: 'scale',
      rows,
      data: { heartbeatMs, idleBeatMs, busy, cpuWindowMs: windowMs, lastStepWithoutHeartbeats: { windowMs: quietMs, cores: quietCores }, empty: { rss: base.rss, heap: base.heap, cores: baseCores, smallJobMs: baseLatency }, steps: results, rssAt10000: rssAtTarget, rssAt10000Extrapolated: extrapolated },
      notes: [
        `One master, one client process holding the idle sockets (raw protocol: hello with 1 thread, then hb every ${fmt(idleBeatMs)} ms (the idle beat, rule P5) with a random phase, no credits), grown step by step: ${steps.map((s) => fmt(s)).join(' → ')}; connections opened 200 at a time.`,
        'RSS is VmRSS from /proc/<pid>/status read right after a full GC; heap is the master\'s process.memoryUsage().heapUsed after HeapProfiler.collectGarbage, read over the V8 inspector (the master runs with --inspect=127.0.0.1:0; nothing in the product changes). Per connection = (value with N − value empty) / N.',
        `CPU: utime + stime of the master from /proc/<pid>/stat over ${windowMs / 1000} s while the swarm only heartbeats (includes the 500 ms lease ticker and the 3 s swarm broadcast to every connection); the swarm's client process runs on the same 2 cores. At the largest step the swarm then stops its heartbeats and the master's CPU is measured again for ${Math.min(ctx.quick ? 2 : 5, idleBeatMs * 0.0025)} s (well before its idle timeout drops them): the difference is the heartbeats' share.`,
        `Small job: POST a 10-task job (n => n + 1) and poll GET every 5 ms until completed, median of ${reps}; the work is done by one extra raw volunteer with credits. "Hungry swarm": the same after every idle connection granted 2 credits, so the 10 tasks are shared out among them.`,
        `Busy: a master of its own (idle ${Math.min(windowMs, 5_000) / 1000} s first: its empty CPU) and a client process that opens ${fmt(busy.connections)} connections; each takes one lease at a time of a job of trivial tasks and answers it ${fmt(BUSY_HOLD_MS)} ms after it came (the first after a random part of that), with \`want: 1\` in the same frame, and beats at the busy pace (2 s) only when it sent nothing else for a beat period (P5): the frames a tab with 2 threads on 1-second tasks sends. After a warm-up, master CPU (/proc) over ${windowMs / 1000} s, less the empty master's, divided by the tasks done in the window (GET /api/jobs/:id counts before and after).`,
        ...(extrapolated ? [`Quick run: 10,000 connections not opened; RSS at 10,000 extrapolated linearly from the last step.`] : []),
      ],
    };
  } finally {
    worker?.terminate();
    await swarm?.stop();
    await master.dispose();
  }
};
