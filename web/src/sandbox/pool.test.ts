import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AttemptOutcome } from '@barnraise/shared';
import { FakeHost } from '../testing/doubles.ts';
import { WorkerPool, type PoolTask } from './pool.ts';

const task = (a: string, over: Partial<PoolTask> = {}): PoolTask => ({ a, job: 'j1', code: 'export default x => x', timeoutMs: 1000, i: 0, input: a, ...over });

function setup(threads = 2) {
  const host = new FakeHost();
  const done: Array<{ a: string; outcome: AttemptOutcome }> = [];
  const started: string[] = [];
  const pool = new WorkerPool(host, {
    started: (t) => started.push(t.a),
    progress: () => {},
    done: (t, outcome) => done.push({ a: t.a, outcome }),
    changed: () => {},
  });
  pool.resize(threads);
  return { host, pool, done, started };
}

describe('WorkerPool', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs one attempt per worker, queues the rest FIFO, and sends job code once per worker', () => {
    const { host, pool, done, started } = setup(2);
    for (const a of ['a1', 'a2', 'a3']) pool.run(task(a));
    expect(started).toEqual(['a1', 'a2']);
    expect(pool.running).toBe(2);
    expect(pool.queued).toBe(1);
    const [w1] = host.alive;
    w1!.finish();
    expect(done.map((d) => d.a)).toEqual(['a1']);
    expect(w1!.received.map((r) => [r.a, r.code !== undefined])).toEqual([
      ['a1', true],
      ['a3', false],
    ]);
  });

  it('stops an attempt past its timeoutMs by terminating its worker, replaces it, and the others go on', () => {
    const { host, pool, done } = setup(2);
    pool.run(task('loop', { timeoutMs: 500 }));
    pool.run(task('quick', { timeoutMs: 5000 }));
    pool.run(task('next'));
    const [looping, quick] = host.alive;
    vi.advanceTimersByTime(499);
    expect(done).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(done).toEqual([{ a: 'loop', outcome: { ok: false, error: 'timed out after 500 ms', ms: 500 } }]);
    expect(looping!.terminated).toBe(true);
    expect(pool.workers).toBe(2);
    // The fresh worker took the waiting lease, with the job's code since it has loaded nothing.
    const fresh = host.spawned.at(-1)!;
    expect(fresh.current).toMatchObject({ a: 'next', code: 'export default x => x' });
    quick!.finish();
    expect(done.map((d) => d.a)).toEqual(['loop', 'quick']);
  });

  it('[Y4] a worker that prepared its job\'s module (a Python interpreter\'s start) says begin: the attempt\'s time limit starts over from it, the start bounded by one of its own', () => {
    const { host, pool, done } = setup(1);
    pool.run(task('py', { timeoutMs: 500 }));
    const [w] = host.alive;
    // 400 ms of the interpreter starting, then the attempt itself: 500 ms from then.
    vi.advanceTimersByTime(400);
    w!.listener.message({ t: 'begin', a: 'py' });
    vi.advanceTimersByTime(499);
    expect(done).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(done).toEqual([{ a: 'py', outcome: { ok: false, error: 'timed out after 500 ms', ms: 500 } }]);
    // A start that never ends is stopped by the first limit: no begin, 500 ms.
    pool.run(task('stuck', { timeoutMs: 500 }));
    vi.advanceTimersByTime(499);
    expect(done).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(done.at(-1)).toEqual({ a: 'stuck', outcome: { ok: false, error: 'timed out after 500 ms', ms: 500 } });
    // A begin for an attempt that is not the running one changes nothing.
    pool.run(task('next', { timeoutMs: 500 }));
    vi.advanceTimersByTime(300);
    host.alive[0]!.listener.message({ t: 'begin', a: 'other' });
    vi.advanceTimersByTime(200);
    expect(done.at(-1)!.a).toBe('next');
  });

  it('grows at once; shrinks idle workers at once and busy ones when their attempt ends', () => {
    const { host, pool } = setup(1);
    pool.resize(3);
    expect(pool.workers).toBe(3);
    pool.run(task('a1'));
    pool.resize(1);
    // Workers are retired from the end; the busy first one stays, two idle ones go.
    expect(pool.workers).toBe(1);
    pool.resize(3);
    pool.run(task('a2'));
    pool.run(task('a3'));
    pool.resize(1);
    expect(pool.workers).toBe(3);
    for (const w of host.alive.filter((w) => w.current?.a !== 'a1')) w.finish();
    expect(pool.workers).toBe(1);
    expect(host.alive).toHaveLength(1);
  });

  it('aborts a waiting or running attempt without an outcome', () => {
    const { host, pool, done } = setup(1);
    pool.run(task('a1'));
    pool.run(task('a2'));
    expect(pool.abort('a2')).toBe(true);
    expect(pool.abort('a1')).toBe(true);
    expect(pool.abort('nope')).toBe(false);
    expect(done).toEqual([]);
    expect(host.spawned[0]!.terminated).toBe(true);
    expect(pool.workers).toBe(1);
    expect(pool.running + pool.queued).toBe(0);
  });

  it('ignores late or forged messages and reports a crashed worker as a failed attempt', () => {
    const { host, pool, done } = setup(1);
    pool.run(task('a1'));
    const w = host.alive[0]!;
    w.listener.message({ t: 'done', a: 'other', outcome: { ok: true, output: 1, ms: 1 } });
    w.listener.message({ t: 'done', a: 'a1', outcome: { ok: 'yes' } as never });
    expect(done).toEqual([]);
    w.listener.error('out of memory');
    expect(done).toEqual([{ a: 'a1', outcome: { ok: false, error: 'worker crashed: out of memory', ms: 0 } }]);
    expect(pool.workers).toBe(1);
  });

  it('[P3] a short job\'s attempts go to a worker ahead, so it never waits on the page between them; a time limit that expires on such a line blames none until each has run alone', () => {
    const { host, pool, done, started } = setup(1);
    const ids = Array.from({ length: 12 }, (_, k) => `a${k + 1}`);
    for (const a of ids) pool.run(task(a, { timeoutMs: 500 }));
    const w = host.alive[0]!;
    expect(w.received.map((r) => r.a), 'a job of unknown length: one at a time').toEqual(['a1']);
    w.finish({ ok: true, output: 1, ms: 0.5 });
    // 0.5 ms tasks: the rest are sent at once, behind the running one; one worker busy, eleven attempts out.
    expect(w.received.map((r) => r.a)).toEqual(ids);
    expect(pool.running).toBe(11);
    expect(pool.busyWorkers).toBe(1);
    expect(pool.queued).toBe(0);
    expect(started).toEqual(['a1', 'a2']);
    w.finish({ ok: true, output: 2, ms: 0.5 });
    expect(started.at(-1)).toBe('a3');
    // The limit armed when a3 started expires with a3..a12 out: the worker may have finished a3 and hold its
    // outcome while a later one overruns (worker.ts), so none is blamed; each runs again alone.
    vi.advanceTimersByTime(500);
    expect(done.map((d) => d.a)).toEqual(['a1', 'a2']);
    expect(w.terminated).toBe(true);
    let fresh = host.alive[0]!;
    expect(fresh.received.map((r) => r.a), 'alone: nothing behind it').toEqual(['a3']);
    expect(fresh.received[0]!.code, 'the fresh worker loads the job first').toBeDefined();
    // a3 overruns alone: it is the one.
    vi.advanceTimersByTime(500);
    expect(done.at(-1)).toEqual({ a: 'a3', outcome: { ok: false, error: 'timed out after 500 ms', ms: 500 } });
    // The others, each alone, then done.
    for (const a of ids.slice(3)) {
      fresh = host.alive[0]!;
      expect(fresh.running?.a).toBe(a);
      expect(pool.running, `${a} runs alone`).toBe(1);
      fresh.finish({ ok: true, output: a, ms: 0.5 });
    }
    expect(done.map((d) => d.a)).toEqual(ids);
    expect(pool.running + pool.queued).toBe(0);
  });

  it('[P3] attempts under a second go one behind the running one, so a worker never waits on the page between them; longer ones one at a time', () => {
    const { host, pool, done } = setup(1);
    for (const a of ['m1', 'm2', 'm3', 'm4']) pool.run(task(a, { job: 'mid' }));
    const w = host.alive[0]!;
    expect(w.received.map((r) => r.a), 'unknown length: one at a time').toEqual(['m1']);
    w.finish({ ok: true, output: 1, ms: 50 });
    expect(w.received.map((r) => r.a), '50 ms attempts: the next one waits in the worker').toEqual(['m1', 'm2', 'm3']);
    expect(w.received.some((r) => r.hold), 'not a short job: no outcome of it is held back').toBe(false);
    expect(pool.running).toBe(2);
    w.finish({ ok: true, output: 2, ms: 50 });
    expect(w.received.map((r) => r.a)).toEqual(['m1', 'm2', 'm3', 'm4']);
    for (const a of ['l1', 'l2', 'l3']) pool.run(task(a, { job: 'long', timeoutMs: 60_000 }));
    w.finish({ ok: true, output: 3, ms: 50 });
    w.finish({ ok: true, output: 4, ms: 50 });
    expect(done.map((d) => d.a)).toEqual(['m1', 'm2', 'm3', 'm4']);
    w.finish({ ok: true, output: 5, ms: 2000 });
    expect(w.received.map((r) => r.a).slice(4), '2 s attempts: one at a time, the rest can still be handed back').toEqual(['l1', 'l2']);
    expect(pool.running).toBe(1);
    expect(pool.takeQueued().map((t) => t.a)).toEqual(['l3']);
  });

  it('[P3] a worker that crashes with a line out blames none of it: each runs again alone, and a crash alone is blamed', () => {
    const { host, pool, done } = setup(1);
    for (const a of ['a1', 'a2', 'a3', 'a4']) pool.run(task(a));
    const w = host.alive[0]!;
    w.finish({ ok: true, output: 1, ms: 0.5 });
    expect(w.received.slice(1).every((r) => r.hold), 'a short job: its outcomes may be held back').toBe(true);
    expect(pool.running).toBe(3);
    // The worker may have finished a2 and hold its outcome while a3 crashes it.
    w.listener.error('out of memory');
    expect(done.map((d) => d.a)).toEqual(['a1']);
    const fresh = host.alive[0]!;
    expect(fresh.received.map((r) => r.a), 'alone').toEqual(['a2']);
    fresh.finish({ ok: true, output: 2, ms: 0.5 });
    expect(host.alive[0]!.received.map((r) => r.a)).toEqual(['a2', 'a3']);
    host.alive[0]!.listener.error('out of memory');
    expect(done.at(-1)).toEqual({ a: 'a3', outcome: { ok: false, error: 'worker crashed: out of memory', ms: 0 } });
    host.alive[0]!.finish({ ok: true, output: 4, ms: 0.5 });
    expect(done.map((d) => d.a)).toEqual(['a1', 'a2', 'a3', 'a4']);
  });

  it('[P3] outcomes a worker held back arrive together, in order; a limit on an attempt running alone blames it at once', () => {
    const { host, pool, done } = setup(1);
    for (const a of ['a1', 'a2', 'a3']) pool.run(task(a, { timeoutMs: 300 }));
    const w = host.alive[0]!;
    w.finish({ ok: true, output: 1, ms: 0.5 });
    expect(w.received.map((r) => r.a)).toEqual(['a1', 'a2', 'a3']);
    w.listener.message({ t: 'dones', items: [{ t: 'done', a: 'a2', outcome: { ok: true, output: 2, ms: 0.5 } }, { t: 'done', a: 'a3', outcome: { ok: true, output: 3, ms: 0.5 } }] });
    expect(done.map((d) => d.a)).toEqual(['a1', 'a2', 'a3']);
    pool.run(task('loop', { timeoutMs: 300 }));
    expect(w.current?.a).toBe('loop');
    expect(pool.running).toBe(1);
    vi.advanceTimersByTime(300);
    expect(done.at(-1)).toEqual({ a: 'loop', outcome: { ok: false, error: 'timed out after 300 ms', ms: 300 } });
  });

  it('[P3] a busy worker\'s line of a short job is topped up once half of it has run, several attempts in one message', () => {
    const { host, pool, done } = setup(1);
    const ids = Array.from({ length: 40 }, (_, k) => `a${k + 1}`);
    for (const a of ids) pool.run(task(a));
    const w = host.alive[0]!;
    w.finish({ ok: true, output: 0, ms: 0.5 }); // now known short: 8 ms ahead at 0.5 ms is the cap, 16
    expect(w.received.map((r) => r.a)).toEqual(ids.slice(0, 17));
    expect(w.messages, 'the 16 went in one message').toBe(2);
    for (let k = 0; k < 7; k++) w.finish({ ok: true, output: k, ms: 0.5 });
    expect(w.messages, 'nothing sent while more than half the line is left').toBe(2);
    w.finish({ ok: true, output: 7, ms: 0.5 });
    expect(w.messages).toBe(3);
    expect(w.received.map((r) => r.a)).toEqual(ids.slice(0, 25));
    expect(pool.running).toBe(16);
    for (let k = 0; k < 31; k++) w.finish({ ok: true, output: k, ms: 0.5 });
    expect(done.map((d) => d.a)).toEqual(ids);
    expect(w.messages, '40 attempts in a few messages').toBeLessThanOrEqual(7);
  });

  it('reset drops every lease and hands back what it dropped', () => {
    const { pool } = setup(1);
    pool.run(task('a1'));
    pool.run(task('a2'));
    expect(pool.reset().map((t) => t.a).sort()).toEqual(['a1', 'a2']);
    expect(pool.running + pool.queued).toBe(0);
    expect(pool.workers).toBe(1);
  });

  it('takeQueued hands back the newest waiting leases', () => {
    const { pool } = setup(1);
    for (const a of ['a1', 'a2', 'a3', 'a4']) pool.run(task(a));
    expect(pool.takeQueued(2).map((t) => t.a)).toEqual(['a3', 'a4']);
    expect(pool.queued).toBe(1);
  });
});
