/**
 * The headless volunteer's thread pool, on real worker_threads: short tasks travel to threads in batches,
 * and time limits, crashes and aborts still hit the one attempt they concern, the rest completing once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PREFETCH, outputOf, type AttemptOutcome } from '@barnraise/shared';
import { ThreadPool, type PoolTask } from './pool.ts';

const pools: ThreadPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** A pool that records every outcome it reports, per attempt, to count duplicates, and when it came. */
async function pool(size: number) {
  const reported = new Map<string, AttemptOutcome[]>();
  const reportedAt = new Map<string, number>();
  const p = new ThreadPool(size, {
    started: () => undefined,
    progress: () => undefined,
    changed: () => undefined,
    done: ({ a }, outcome) => {
      reported.set(a, [...(reported.get(a) ?? []), outcome]);
      reportedAt.set(a, Date.now());
    },
  });
  pools.push(p);
  await p.whenReady();
  return { p, reported, reportedAt };
}

let seq = 0;
function tasks(job: string, code: string, inputs: number[], timeoutMs = 10_000): PoolTask[] {
  return inputs.map((n) => ({ a: `${job}-${n}-${seq++}`, job, code, timeoutMs, i: n, input: n }));
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run tasks and wait until each is reported, then a little longer, so a late duplicate would show. */
async function runAll(p: ThreadPool, reported: Map<string, AttemptOutcome[]>, ts: PoolTask[]): Promise<void> {
  for (const t of ts) p.run(t);
  await waitFor('every attempt reported', () => ts.every((t) => reported.has(t.a)));
  await sleep(100);
}

/** Outcomes without their durations, one list per attempt. */
const outcomesOf = (reported: Map<string, AttemptOutcome[]>, ts: PoolTask[]) =>
  ts.map((t) => (reported.get(t.a) ?? []).map((o) => (o.ok ? { ok: true, output: outputOf(o) } : { ok: false, error: o.error })));

const increment = `export default (n) => n + 1;`;

/** Let a job prove short: quick attempts on inputs 100 and up, enough that one slow sample washes out. */
const proveShort = (p: ThreadPool, reported: Map<string, AttemptOutcome[]>, job: string, code: string, timeoutMs?: number) =>
  runAll(p, reported, tasks(job, code, Array.from({ length: 20 }, (_, n) => 100 + n), timeoutMs));

describe('ThreadPool batches', () => {
  it('many short tasks of one job go to the threads in a few requests, each outcome reported once', async () => {
    const { p, reported } = await pool(2);
    const ts = tasks('inc', increment, Array.from({ length: 400 }, (_, n) => n));
    await runAll(p, reported, ts);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => [{ ok: true, output: (t.input as number) + 1 }]));
    expect(reported.size).toBe(400);
    expect(p.messagesPosted, 'requests to threads').toBeLessThan(400 / 8);
    expect(p.repliesReceived, 'replies with outcomes').toBeLessThan(400 / 8);
    expect(p.busy).toBe(0);
  });

  it('a job not yet known to be short goes one attempt at a time until an outcome says it is', async () => {
    const { p, reported } = await pool(1);
    const ts = tasks('fresh', increment, Array.from({ length: 10 }, (_, n) => n));
    await runAll(p, reported, ts);
    // The first attempt alone, then the nine others together (in a few requests if that first one was slow).
    expect(p.messagesPosted).toBeGreaterThanOrEqual(2);
    expect(p.messagesPosted).toBeLessThanOrEqual(5);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => [{ ok: true, output: (t.input as number) + 1 }]));
  });

  it('a long job goes one attempt per request', async () => {
    const { p, reported } = await pool(1);
    const spin = `export default (n) => { const end = performance.now() + 5; while (performance.now() < end); return n; }`;
    const ts = tasks('long', spin, [0, 1, 2, 3, 4, 5]);
    await runAll(p, reported, ts);
    expect(p.messagesPosted).toBe(6);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => [{ ok: true, output: t.input }]));
  });

  it('an attempt in the middle of a batch past its time limit times out, its thread is replaced, the others complete once', async () => {
    const { p, reported } = await pool(1);
    const loop7 = `export default (n) => { if (n === 7) for (;;) {} return n + 1; }`;
    await proveShort(p, reported, 'loop7', loop7, 300);
    const before = { posted: p.messagesPosted, started: p.threadsStarted };

    const ts = tasks('loop7', loop7, Array.from({ length: 16 }, (_, n) => n), 300);
    for (const t of ts) p.run(t);
    await sleep(100);
    expect(p.messagesPosted - before.posted, 'all 16 in one request, the thread stuck on 7').toBe(1);
    expect(p.busy).toBe(16 - ts.filter((t) => reported.has(t.a)).length);

    await waitFor('every attempt reported', () => ts.every((t) => reported.has(t.a)));
    await sleep(100);
    expect(outcomesOf(reported, ts)).toEqual(
      ts.map((t) => [t.input === 7 ? { ok: false, error: 'timed out after 300 ms' } : { ok: true, output: (t.input as number) + 1 }]),
    );
    expect(reported.get(ts[7]!.a)![0]!.ms).toBe(300);
    expect(p.threadsStarted - before.started, 'the stuck thread was replaced').toBe(1);
    expect(p.busy).toBe(0);
  });

  it('an attempt that starts late in a batch gets its whole time limit, counted from its own start', async () => {
    const { p, reported, reportedAt } = await pool(1);
    // 0 takes 200 ms of a 300 ms limit; 1, right behind it, never ends. 0's outcome is still unsent (the thread
    // holds outcomes ~1 ms) when 1 starts, so at 300 ms the head of the batch looks overdue; it is not.
    const code = `export default (n) => { if (n === 0) { const end = Date.now() + 200; while (Date.now() < end); } if (n === 1) for (;;) {} return n; }`;
    await proveShort(p, reported, 'late', code, 300);
    const ts = tasks('late', code, [0, 1, 2, 3], 300);
    const posted = Date.now();
    await runAll(p, reported, ts);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => [t.input === 1 ? { ok: false, error: 'timed out after 300 ms' } : { ok: true, output: t.input }]));
    expect(reportedAt.get(ts[1]!.a)! - posted, 'reported after its 300 ms, which began ~200 ms in').toBeGreaterThanOrEqual(480);
  });

  it('[P3] a thread running a short batch is sent the next ahead; an attempt there gets its whole time limit from its own start', async () => {
    const { p, reported, reportedAt } = await pool(1);
    // A batch is half a thread's leases (MAX_PREFETCH / 2). 0 (first request) takes 200 ms; `stuck` (in the
    // request sent ahead behind it) never ends, with a 300 ms limit.
    const batch = MAX_PREFETCH / 2;
    const stuck = batch + 6;
    const code = `export default (n) => { if (n === 0) { const end = Date.now() + 200; while (Date.now() < end); } if (n === ${stuck}) for (;;) {} return n; }`;
    await proveShort(p, reported, 'ahead', code, 300);
    const before = { posted: p.messagesPosted, started: p.threadsStarted };
    // A batch, and half a batch (enough to be sent ahead) behind it.
    const ts = tasks('ahead', code, Array.from({ length: batch + batch / 2 }, (_, n) => n), 300);
    const posted = Date.now();
    for (const t of ts) p.run(t);
    await sleep(100);
    expect(p.messagesPosted - before.posted, 'one request running, the next sent ahead').toBe(2);
    expect(p.running, 'both held by the thread').toBe(batch + batch / 2);
    await waitFor('every attempt reported', () => ts.every((t) => reported.has(t.a)));
    await sleep(100);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => [t.input === stuck ? { ok: false, error: 'timed out after 300 ms' } : { ok: true, output: t.input }]));
    expect(reportedAt.get(ts[stuck]!.a)! - posted, 'its 300 ms began after the 200 ms of the first request').toBeGreaterThanOrEqual(480);
    expect(p.threadsStarted - before.started, 'the stuck thread was replaced').toBe(1);
    expect(p.busy).toBe(0);
  });

  it('[Y4] a module\'s prepare (a Python interpreter\'s start) is bounded by a time limit of its own; the attempt gets its whole limit after it', async () => {
    const { p, reported } = await pool(1);
    // prepare takes 250 ms of a 300 ms limit, then the task 200 ms: 450 ms in all, within both limits.
    const code = `let ready = false; export async function prepare() { if (!ready) { await new Promise((r) => setTimeout(r, 250)); ready = true; } } export default (n) => { const end = Date.now() + 200; while (Date.now() < end); return n; }`;
    const ts = tasks('prep', code, [1], 300);
    await runAll(p, reported, ts);
    expect(outcomesOf(reported, ts)).toEqual([[{ ok: true, output: 1 }]]);
    // A prepare that never ends is stopped at the limit.
    const stuck = tasks('stuck', `export function prepare() { return new Promise(() => {}); } export default (n) => n;`, [1], 300);
    await runAll(p, reported, stuck);
    expect(outcomesOf(reported, stuck)).toEqual([[{ ok: false, error: 'timed out after 300 ms' }]]);
  });

  it('a thread crashing in the middle of a batch fails the attempt it was running; the others complete once', async () => {
    const { p, reported } = await pool(1);
    const crash5 = `export default (n) => n === 5 ? new Promise(() => setTimeout(() => { throw new Error('boom'); }, 20)) : n + 1;`;
    await proveShort(p, reported, 'crash5', crash5);
    const started = p.threadsStarted;
    const ts = tasks('crash5', crash5, Array.from({ length: 12 }, (_, n) => n));
    await runAll(p, reported, ts);
    expect(outcomesOf(reported, ts)).toEqual(
      ts.map((t) => [t.input === 5 ? { ok: false, error: 'thread crashed: boom' } : { ok: true, output: (t.input as number) + 1 }]),
    );
    expect(p.threadsStarted - started).toBe(1);
  });

  it('abort of an attempt inside a thread\'s batch: never reported, the others complete once', async () => {
    const { p, reported } = await pool(1);
    const slow3 = `export default (n) => { if (n === 3) { const end = Date.now() + 200; while (Date.now() < end); } return n * 2; }`;
    await proveShort(p, reported, 'slow3', slow3);
    const before = { posted: p.messagesPosted, started: p.threadsStarted };

    const ts = tasks('slow3', slow3, Array.from({ length: 10 }, (_, n) => n));
    for (const t of ts) p.run(t);
    await sleep(50);
    expect(p.messagesPosted - before.posted, 'all 10 in one request, the thread busy with 3').toBe(1);
    const victim = ts[6]!.a;
    expect(p.abort(victim)).toBe(true);
    expect(p.abort(victim), 'gone once aborted').toBe(false);
    expect(p.busy).toBe(9 - ts.filter((t) => reported.has(t.a)).length);

    await waitFor('the others reported', () => ts.every((t) => t.a === victim || reported.has(t.a)));
    await sleep(300);
    expect(reported.has(victim)).toBe(false);
    expect(outcomesOf(reported, ts)).toEqual(ts.map((t) => (t.a === victim ? [] : [{ ok: true, output: (t.input as number) * 2 }])));
    expect(p.threadsStarted - before.started, 'the batch\'s thread was replaced').toBe(1);
    expect(p.busy).toBe(0);
  });

  it('drainQueue hands back only the queued attempts; reset drops a batch in flight and the pool goes on', async () => {
    const { p, reported } = await pool(1);
    const slow0 = `export default (n) => { if (n === 0) { const end = Date.now() + 300; while (Date.now() < end); } return n; }`;
    await proveShort(p, reported, 'slow0', slow0);
    const inBatch = tasks('slow0', slow0, [0, 1, 2, 3]);
    for (const t of inBatch) p.run(t);
    await sleep(50);
    const queued = tasks('other', increment, [10, 11]);
    for (const t of queued) p.run(t);
    expect(p.busy).toBe(6);
    expect(p.drainQueue().map((t) => t.a)).toEqual(queued.map((t) => t.a));
    expect(p.busy).toBe(4);

    p.reset();
    expect(p.busy).toBe(0);
    const after = tasks('slow0', slow0, [5, 6, 7]);
    await runAll(p, reported, after);
    await sleep(400);
    expect(inBatch.filter((t) => reported.has(t.a)), 'nothing of the dropped batch is reported').toEqual([]);
    expect(outcomesOf(reported, after)).toEqual(after.map((t) => [{ ok: true, output: t.input }]));
  });

  it('reset leaves a thread whose attempts finish soon to finish them, unreported, rather than booting a fresh one; a long one is replaced', async () => {
    const { p, reported } = await pool(1);
    const brief = `export default (n) => { const end = Date.now() + 20; while (Date.now() < end); return n; }`;
    await proveShort(p, reported, 'brief', brief);
    const started = p.threadsStarted;
    const inFlight = tasks('brief', brief, [0, 1, 2]);
    for (const t of inFlight) p.run(t);
    await sleep(5);
    expect(p.reset().map((t) => t.a).sort()).toEqual(inFlight.map((t) => t.a).sort());
    expect(p.busy).toBe(0);
    const after = tasks('brief', brief, [5, 6]);
    await runAll(p, reported, after);
    expect(p.threadsStarted, 'the same thread went on').toBe(started);
    expect(inFlight.filter((t) => reported.has(t.a)), 'nothing dropped is reported').toEqual([]);
    expect(outcomesOf(reported, after)).toEqual(after.map((t) => [{ ok: true, output: t.input }]));

    // A job whose duration is not known (or long) is not waited for: its thread is replaced.
    const long = tasks('long', `export default (n) => { const end = Date.now() + 2000; while (Date.now() < end); return n; }`, [0]);
    for (const t of long) p.run(t);
    await sleep(50);
    p.reset();
    expect(p.threadsStarted).toBe(started + 1);
    await runAll(p, reported, tasks('brief', brief, [8]));
    expect(long.filter((t) => reported.has(t.a))).toEqual([]);
  });
});
