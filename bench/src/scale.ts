/**
 * 2. Connection scale: 1,000, 5,000 and 10,000 idle volunteer connections (hello, then a heartbeat every
 * heartbeatMs, nothing else) from one client process, added step by step to one master. At each step:
 * the master's RSS (from /proc) and heap (process.memoryUsage() after a full GC, over the V8 inspector)
 * per connection against the empty master, its CPU while they are idle (heartbeats, the lease ticker and
 * the swarm broadcast) against the empty master's, and the time for a 10-task job to complete while they
 * are connected, against the same with none connected.
 */
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchContext, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { ClientProcess, CpuMeter, readMemory, sleep, waitUntil } from './lib/proc.ts';
import { RawVolunteer } from './lib/raw-volunteer.ts';
import { median } from './lib/stats.ts';
import { fmt, mb, verdict, Verdict, type Row } from './lib/table.ts';

const TARGET_CONNECTIONS = 10_000;
const TARGET_RSS = 500e6;

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

export const scaleBench: Bench = async (ctx: BenchContext): Promise<BenchResult> => {
  const steps = ctx.quick ? [2_000] : [1_000, 5_000, 10_000];
  const windowMs = ctx.quick ? 2_000 : 10_000;
  const settleMs = ctx.quick ? 1_000 : 3_000;
  const reps = ctx.quick ? 3 : 5;
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
      data: { heartbeatMs, idleBeatMs, cpuWindowMs: windowMs, lastStepWithoutHeartbeats: { windowMs: quietMs, cores: quietCores }, empty: { rss: base.rss, heap: base.heap, cores: baseCores, smallJobMs: baseLatency }, steps: results, rssAt10000: rssAtTarget, rssAt10000Extrapolated: extrapolated },
      notes: [
        `One master, one client process holding the idle sockets (raw protocol: hello with 1 thread, then hb every ${fmt(idleBeatMs)} ms (the idle beat, rule P5) with a random phase, no credits), grown step by step: ${steps.map((s) => fmt(s)).join(' → ')}; connections opened 200 at a time.`,
        'RSS is VmRSS from /proc/<pid>/status read right after a full GC; heap is the master\'s process.memoryUsage().heapUsed after HeapProfiler.collectGarbage, read over the V8 inspector (the master runs with --inspect=127.0.0.1:0; nothing in the product changes). Per connection = (value with N − value empty) / N.',
        `CPU: utime + stime of the master from /proc/<pid>/stat over ${windowMs / 1000} s while the swarm only heartbeats (includes the 500 ms lease ticker and the 3 s swarm broadcast to every connection); the swarm's client process runs on the same 2 cores. At the largest step the swarm then stops its heartbeats and the master's CPU is measured again for ${Math.min(ctx.quick ? 2 : 5, idleBeatMs * 0.0025)} s (well before its idle timeout drops them): the difference is the heartbeats' share.`,
        `Small job: POST a 10-task job (n => n + 1) and poll GET every 5 ms until completed, median of ${reps}; the work is done by one extra raw volunteer with credits. "Hungry swarm": the same after every idle connection granted 2 credits, so the 10 tasks are shared out among them.`,
        ...(extrapolated ? [`Quick run: 10,000 connections not opened; RSS at 10,000 extrapolated linearly from the last step.`] : []),
      ],
    };
  } finally {
    worker?.terminate();
    await swarm?.stop();
    await master.dispose();
  }
};
