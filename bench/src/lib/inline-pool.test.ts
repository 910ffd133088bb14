import { describe, expect, it } from 'vitest';
import { outputOf, type AttemptOutcome, type PoolEvents, type PoolTask } from '@barnraise/shared';
import { InlinePool } from './inline-pool.ts';

const task = (a: string, input: unknown): PoolTask => ({ a, job: 'j', code: '', timeoutMs: 1000, i: 0, input });
const turn = () => new Promise<void>((r) => setImmediate(r));

function recorder() {
  const done: Array<{ a: string; outcome: AttemptOutcome; queuedThen: number }> = [];
  let pool: InlinePool;
  const events: PoolEvents = {
    started: () => undefined,
    progress: () => undefined,
    done: (t, outcome) => done.push({ a: t.a, outcome, queuedThen: pool.queued }),
    changed: () => undefined,
  };
  return { done, events, set: (p: InlinePool) => (pool = p) };
}

describe('InlinePool', () => {
  it('runs every waiting lease on the next turn, in order, each out of the queue before its done', async () => {
    const r = recorder();
    const pool = new InlinePool(1, r.events, (t) => ({ ok: true, output: (t.input as number) ** 2 }));
    r.set(pool);
    pool.run(task('a1', 3));
    pool.run(task('a2', 4));
    expect(pool.queued).toBe(2);
    expect(r.done).toEqual([]);
    await turn();
    expect(r.done.map((d) => [d.a, d.outcome.ok && outputOf(d.outcome), d.queuedThen])).toEqual([
      ['a1', 9, 1],
      ['a2', 16, 0],
    ]);
  });

  it('reports a failure and a throw as failed outcomes', async () => {
    const r = recorder();
    const pool = new InlinePool(1, r.events, (t) => {
      if (t.input === 'throw') throw new Error('boom');
      return { ok: false, error: 'failed on purpose' };
    });
    r.set(pool);
    pool.run(task('a1', 1));
    pool.run(task('a2', 'throw'));
    await turn();
    expect(r.done.map((d) => d.outcome)).toMatchObject([
      { ok: false, error: 'failed on purpose' },
      { ok: false, error: 'boom' },
    ]);
  });

  it('hands back waiting leases (last first), aborts one, and reset drops the rest unrun', async () => {
    const r = recorder();
    const pool = new InlinePool(1, r.events, () => ({ ok: true, output: 0 }));
    r.set(pool);
    for (const a of ['a1', 'a2', 'a3', 'a4']) pool.run(task(a, 0));
    expect(pool.takeQueued(1).map((t) => t.a)).toEqual(['a4']);
    expect(pool.abort('a2')).toBe(true);
    expect(pool.abort('nope')).toBe(false);
    expect(pool.reset().map((t) => t.a)).toEqual(['a1', 'a3']);
    await turn();
    expect(r.done).toEqual([]);
    expect(pool.running + pool.queued).toBe(0);
  });

  it('holds leases while resized to 0 and runs them once it has a worker again', async () => {
    const r = recorder();
    const pool = new InlinePool(1, r.events, () => ({ ok: true, output: 1 }));
    r.set(pool);
    pool.resize(0);
    pool.run(task('a1', 0));
    await turn();
    expect(r.done).toEqual([]);
    pool.resize(1);
    await turn();
    expect(r.done.map((d) => d.a)).toEqual(['a1']);
  });
});
