import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, FakePort } from '../testing/doubles.ts';
import { jobRecord } from '../store/contract.ts';
import { SqliteStore } from '../store/sqlite/store.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { MasterMetrics } from './metrics.ts';

const stores: SqliteStore[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.writer.flush();
  for (const s of stores.splice(0)) await s.close();
});

/** A scheduler on a fake clock, wired to metrics as the app wires it. */
async function setup(total: number, maxAttempts = 3) {
  const clock = new FakeClock();
  const store = new SqliteStore({ file: ':memory:' });
  stores.push(store);
  const metrics = new MasterMetrics();
  const scheduler = new Scheduler({ clock, store, heartbeatTimeoutMs: 60_000, graceMs: 100, commitIntervalMs: 1, metrics: metrics.writer });
  schedulers.push(scheduler);
  metrics.watch(scheduler, store);
  const record = jobRecord({ createdAt: clock.now(), total, maxAttempts, timeoutMs: 1000 });
  const inputs = Array.from({ length: total }, (_, i) => i);
  await store.insertJob(record, inputs);
  scheduler.addJob(record);
  const join = (threads = 1) => scheduler.join(new FakePort(), threads, 'node', 'test');
  /** Current value of a series, by name and labels. */
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const series = family?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return series?.value;
  };
  return { clock, scheduler, metrics, join, value };
}

const leases = (s: Scheduler, v: { id: string }) => [...s.attempts.values()].filter((a) => a.volunteer.id === v.id).map((a) => a.id);

describe('[O2] metrics', () => {
  it('requeues are counted by how the attempt ended: failed (retried), expired, lost, released', async () => {
    const { clock, scheduler, join, value } = await setup(8);
    const v = join(2);
    scheduler.want(v, 8);
    scheduler.pump();
    await scheduler.settle();
    scheduler.pump();
    expect(await value('barnraise_leases')).toBe(8);
    const [a, b, c, d] = leases(scheduler, v);

    scheduler.results(v, [{ a: a!, ok: false, error: 'boom' }]);
    scheduler.release(v, [b!]);
    scheduler.results(v, [{ a: c!, ok: true, output: 1 }, { a: d!, ok: true, output: 2 }]);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'failed' })).toBe(1);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'released' })).toBe(1);
    expect(await value('barnraise_tasks_done_total')).toBe(2);
    expect(await value('barnraise_leases')).toBe(4);

    // The four left run past their deadline.
    clock.advance(10_000);
    scheduler.tick();
    expect(await value('barnraise_tasks_requeued_total', { reason: 'expired' })).toBe(4);

    const w = join(1);
    scheduler.want(w, 3);
    scheduler.pump();
    await scheduler.settle();
    scheduler.pump();
    expect(leases(scheduler, w)).toHaveLength(3);
    scheduler.leave(w);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'lost' })).toBe(3);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'failed' }), 'no other reason moved').toBe(1);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'released' })).toBe(1);
    expect(await value('barnraise_tasks_failed_total')).toBe(0);
  });

  it('a task that fails maxAttempts times counts once as failed; a cancel requeues nothing', async () => {
    const { scheduler, join, value } = await setup(2, 2);
    const v = join(1);
    for (let round = 0; round < 2; round++) {
      scheduler.want(v, 1);
      scheduler.pump();
      await scheduler.settle();
      scheduler.pump();
      const [a] = leases(scheduler, v);
      scheduler.results(v, [{ a: a!, ok: false, error: 'always' }]);
    }
    expect(await value('barnraise_tasks_failed_total')).toBe(1);
    expect(await value('barnraise_tasks_requeued_total', { reason: 'failed' })).toBe(1);
    scheduler.want(v, 1);
    scheduler.pump();
    await scheduler.settle();
    scheduler.pump();
    scheduler.cancel([...scheduler.jobs.keys()][0]!);
    const requeued = await Promise.all(['failed', 'expired', 'lost', 'released'].map((reason) => value('barnraise_tasks_requeued_total', { reason })));
    expect(requeued).toEqual([1, 0, 0, 0]);
  });

  it('commit durations, the writer\'s queue and the swarm are read from the scheduler', async () => {
    const { scheduler, join, value, metrics } = await setup(4);
    const v = join(3);
    expect(await value('barnraise_volunteers')).toBe(1);
    expect(await value('barnraise_threads')).toBe(3);
    expect(await value('barnraise_tasks_queued')).toBe(4);
    expect(await value('barnraise_jobs_active')).toBe(1);
    scheduler.want(v, 4);
    scheduler.pump();
    await scheduler.settle();
    scheduler.pump();
    const ids = leases(scheduler, v);
    scheduler.results(v, ids.map((a) => ({ a, ok: true, output: 0 })));
    expect(await value('barnraise_store_queue_depth', { queue: 'writer' })).toBeGreaterThan(0);
    await scheduler.writer.flush();
    expect(await value('barnraise_store_queue_depth', { queue: 'writer' })).toBe(0);
    const histogram = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'barnraise_commit_duration_seconds')!;
    const count = histogram.values.find((s) => (s as { metricName?: string }).metricName === 'barnraise_commit_duration_seconds_count')!.value;
    expect(count).toBe(scheduler.writer.commits);
    expect(count).toBeGreaterThan(0);
  });
});
