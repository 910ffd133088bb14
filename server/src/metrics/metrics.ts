/**
 * The master's Prometheus metrics (prom-client), all named `barnraise_*` (docs/metrics.md lists them).
 * Counters are moved by the group-commit writer, which is told of every final task, requeue and attempt end
 * as the lease transitions record them (SchedulerOptions.metrics); gauges are read from the scheduler and
 * the store when scraped, so nothing is kept twice.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptEnd } from '../scheduler/lease.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { JobState } from '../scheduler/state.ts';
import type { Store } from '../store/store.ts';
import type { WriterMetrics } from '../store/writer.ts';

export const METRICS_PREFIX = 'barnraise_';
/** How often the event-loop lag histogram samples the loop (ms). */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** Why a task went back to the queue: how the attempt before it ended. */
export const RequeueReason = { failed: 'failed', expired: 'expired', lost: 'lost', released: 'released' } as const;
export type RequeueReason = (typeof RequeueReason)[keyof typeof RequeueReason];

// Group commits take ~1-10 ms on a local SSD with fsync; the top buckets catch a stalled disk.
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** One master's metrics: its own registry (so several masters in one process, as in tests, stay apart). */
export class MasterMetrics {
  readonly registry = new Registry();
  private readonly done: Counter;
  private readonly failed: Counter;
  private readonly requeues: Counter<'reason'>;
  private readonly commits: Histogram;
  private readonly assetBytes: Counter;
  /** The last attempt that ended, to give the requeue that follows it (in the same transition) its reason. */
  private lastEnd: { job: JobState; index: number; end: AttemptEnd } | null = null;

  constructor() {
    const registers = [this.registry];
    // Process and runtime metrics, event-loop lag among them (barnraise_nodejs_eventloop_lag_seconds). The lag
    // histogram samples the loop every EVENT_LOOP_SAMPLE_MS: prom-client's 10 ms woke an idle master 100
    // times a second, most of its wake-ups; a blocked loop still shows in the next sample's delay.
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.done = new Counter({ name: `${METRICS_PREFIX}tasks_done_total`, help: 'Tasks that ended with a result.', registers });
    this.failed = new Counter({ name: `${METRICS_PREFIX}tasks_failed_total`, help: 'Tasks that ended failed (maxAttempts failed attempts, or maxLosses lost volunteers).', registers });
    this.requeues = new Counter({
      name: `${METRICS_PREFIX}tasks_requeued_total`,
      help: 'Tasks put back in the queue, by how their attempt ended: failed (retried), expired (past its deadline), lost (its volunteer left), released (handed back unrun).',
      labelNames: ['reason'],
      registers,
    });
    // Every reason present from the first scrape, so rate() has a starting point.
    for (const reason of Object.values(RequeueReason)) this.requeues.labels(reason).inc(0);
    this.assetBytes = new Counter({ name: `${METRICS_PREFIX}asset_bytes_sent_total`, help: 'Bytes of assets sent in full to volunteers (GET /api/assets/<sha256>); a volunteer with an asset cached fetches nothing.', registers });
    this.commits = new Histogram({ name: `${METRICS_PREFIX}commit_duration_seconds`, help: 'Duration of one group commit (one store transaction, fsync included).', buckets: COMMIT_BUCKETS, registers });
  }

  /** An asset's bytes went out in full (rule A4: once per volunteer, not once per task). */
  assetSent(bytes: number): void {
    this.assetBytes.inc(bytes);
  }

  /** What the scheduler's group-commit writer tells (SchedulerOptions.metrics). */
  readonly writer: WriterMetrics = {
    finished: (_job, line) => (line.status === 'done' ? this.done : this.failed).inc(),
    attemptEnded: (a, end) => {
      this.lastEnd = { job: a.job, index: a.index, end };
    },
    // A lease transition ends the attempt, then requeues its task, in one synchronous call (lease.ts).
    requeued: (job, index) => {
      const last = this.lastEnd;
      const reason = last && last.job === job && last.index === index && last.end in RequeueReason ? (last.end as RequeueReason) : undefined;
      this.lastEnd = null;
      if (reason) this.requeues.labels(reason).inc();
    },
    committed: (ms) => this.commits.observe(ms / 1000),
  };

  /** Gauges read from `scheduler` and `store` at each scrape; `waitingCalls` where the store can tell (ThreadedStore). */
  watch(scheduler: Scheduler, store: Store & { readonly waitingCalls?: number }, assets?: { readonly totalBytes: number }): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name: `${METRICS_PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('leases', 'Live leases: attempts running or waiting on volunteers.', () => scheduler.attempts.size);
    gauge('volunteers', 'Volunteers connected.', () => scheduler.volunteers.size);
    gauge('threads', 'Threads the connected volunteers run tasks on.', () => scheduler.stats().threads);
    gauge('tasks_queued', 'Tasks waiting for a lease.', () => scheduler.stats().queued);
    gauge('jobs_active', 'Jobs queued or running.', () => scheduler.stats().activeJobs);
    if (assets) gauge('assets_stored_bytes', 'Bytes of assets on this master\'s disk.', () => assets.totalBytes);
    new Gauge({
      name: `${METRICS_PREFIX}store_queue_depth`,
      help: 'Work waiting on the store: writes collected for the next group commit (queue="writer"), calls sent to the store thread and not answered (queue="store").',
      labelNames: ['queue'],
      registers,
      collect() {
        this.labels('writer').set(scheduler.writer.pending);
        if (store.waitingCalls !== undefined) this.labels('store').set(store.waitingCalls);
      },
    });
  }
}
