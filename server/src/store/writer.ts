/**
 * Group commit: the scheduler's changes collect here and reach the store in one transaction every
 * `intervalMs` (or sooner when a batch fills), never one transaction per task message (rule D2).
 * Only after a batch is durable are its results acknowledged to volunteers and shown to readers.
 */
import type { ResultLine } from '@barnraise/shared';
import type { AttemptEnd, Journal } from '../scheduler/lease.ts';
import type { Attempt, JobState, VolunteerState } from '../scheduler/state.ts';
import type { AttemptWrite, CommitBatch, ReplicaWrite, Store, TaskWrite, VerdictWrite } from './store.ts';
import type { TrustJournal } from '../validation/book.ts';
import type { ReplicaKind, ReplicaVerdict, ValidationJournal } from '../validation/job.ts';
import type { Vote } from '../validation/quorum.ts';
import type { IdentityRecord } from '../validation/trust.ts';

/** What became durable in one commit. */
export interface Committed {
  /** Attempt ids per volunteer whose results are now durable. */
  acks: Map<VolunteerState, string[]>;
  results: Array<{ job: JobState; line: ResultLine }>;
  /**
   * Jobs whose row was written, and whether the row written was final. A job can finish in memory while an
   * earlier batch (written when it was still running) commits; only the batch that wrote its final row
   * makes the end durable (rule D4).
   */
  jobs: Array<{ job: JobState; finished: boolean }>;
}

export interface WriterOptions {
  intervalMs: number;
  /** Flush at once when this many task writes are pending. */
  maxBatch: number;
  onCommitted(c: Committed): void;
  onError(err: unknown): void;
  /** Told what the writer is told, as it is told, and how long each commit took (metrics/metrics.ts). */
  metrics?: WriterMetrics;
}

/** A listener on the writer for metrics: the journal's calls (each optional) and each commit's duration. */
export interface WriterMetrics extends Partial<Journal> {
  /** One batch of `writes` became durable in `ms` (one successful store.commit; failed tries not counted). */
  committed?(ms: number, writes: number): void;
}

export class GroupCommit implements Journal, ValidationJournal, TrustJournal {
  private tasks: TaskWrite[] = [];
  private attempts: AttemptWrite[] = [];
  private replicas: ReplicaWrite[] = [];
  private verdicts: VerdictWrite[] = [];
  /** The latest record of each identity changed since the last batch. */
  private identities = new Map<string, IdentityRecord>();
  private jobs = new Set<JobState>();
  private acks = new Map<VolunteerState, string[]>();
  private results: Array<{ job: JobState; line: ResultLine }> = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Transactions committed so far (observability and tests of batching). */
  commits = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: WriterOptions,
  ) {}

  finished(job: JobState, line: ResultLine, attempt: Attempt | null): void {
    this.opts.metrics?.finished?.(job, line, attempt);
    const base = { job: job.id, index: line.index, failures: job.failures[line.index]!, losses: job.losses[line.index]! };
    this.tasks.push(line.status === 'done' ? { kind: 'done', ...base, output: line.output } : { kind: 'failed', ...base, error: line.error });
    this.results.push({ job, line });
    if (attempt) {
      const list = this.acks.get(attempt.volunteer);
      if (list) list.push(attempt.id);
      else this.acks.set(attempt.volunteer, [attempt.id]);
    }
    this.jobs.add(job);
    this.schedule();
  }

  requeued(job: JobState, index: number): void {
    this.opts.metrics?.requeued?.(job, index);
    this.tasks.push({ kind: 'retry', job: job.id, index, failures: job.failures[index]!, losses: job.losses[index]!, error: job.lastError.get(index) ?? null });
    this.jobs.add(job);
    this.schedule();
  }

  touched(job: JobState): void {
    this.jobs.add(job);
    this.schedule();
  }

  attemptEnded(a: Attempt, end: AttemptEnd, error: string | null, at: number): void {
    this.opts.metrics?.attemptEnded?.(a, end, error, at);
    this.attempts.push({ job: a.job.id, index: a.index, attempt: a.id, volunteer: a.volunteer.id, leasedAt: a.leasedAt, endedAt: at, end, error });
    this.schedule();
  }

  /** [V13] A vote or a check's answer: acknowledged to its volunteer once durable. */
  replica(job: JobState, index: number, a: Attempt, vote: Vote, kind: ReplicaKind, verdict: ReplicaVerdict): void {
    this.replicas.push({
      job: job.id,
      index,
      attempt: a.id,
      identity: vote.identity,
      network: vote.network,
      kind,
      ok: vote.ok,
      hash: vote.hash,
      output: vote.output,
      error: vote.error,
      at: a.leasedAt,
      verdict,
    });
    const list = this.acks.get(a.volunteer);
    if (list) list.push(a.id);
    else this.acks.set(a.volunteer, [a.id]);
    this.jobs.add(job);
    this.schedule();
  }

  verdict(job: JobState, index: number, attempt: string, verdict: ReplicaVerdict): void {
    this.verdicts.push({ job: job.id, index, attempt, verdict });
    this.schedule();
  }

  identityChanged(r: IdentityRecord): void {
    this.identities.set(r.id, r);
    this.schedule();
  }

  /** Pending writes not yet handed to the store. */
  get pending(): number {
    return this.tasks.length + this.jobs.size + this.attempts.length + this.replicas.length + this.verdicts.length + this.identities.size;
  }

  private schedule(): void {
    if (this.tasks.length + this.attempts.length + this.replicas.length + this.verdicts.length >= this.opts.maxBatch) {
      void this.flush();
      return;
    }
    if (!this.timer && !this.running) this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs);
  }

  /** Commit everything pending now; resolves when all of it (and any commit before it) is durable. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.running) await this.running;
    if (this.pending === 0) return;
    const batch = this.take();
    this.running = this.write(batch).finally(() => {
      this.running = null;
      if (this.pending > 0) this.schedule();
    });
    await this.running;
  }

  private take(): { batch: CommitBatch; committed: Committed } {
    const jobs = [...this.jobs];
    const batch: CommitBatch = {
      tasks: this.tasks,
      attempts: this.attempts,
      replicas: this.replicas,
      verdicts: this.verdicts,
      identities: [...this.identities.values()],
      // Snapshot now: every change counted in memory so far is in this batch or an earlier one.
      jobs: jobs.map((j) => ({
        id: j.id,
        status: j.status,
        done: j.counts.done,
        failed: j.counts.failed,
        requeues: j.requeues,
        startedAt: j.startedAt,
        finishedAt: j.finishedAt,
        replicas: j.validation?.replicas ?? 0,
        inconclusive: j.validation?.inconclusive ?? 0,
      })),
    };
    const committed: Committed = { acks: this.acks, results: this.results, jobs: jobs.map((job) => ({ job, finished: job.isFinished() })) };
    this.tasks = [];
    this.attempts = [];
    this.replicas = [];
    this.verdicts = [];
    this.identities = new Map();
    this.jobs = new Set();
    this.acks = new Map();
    this.results = [];
    return { batch, committed };
  }

  private async write({ batch, committed }: { batch: CommitBatch; committed: Committed }): Promise<void> {
    let ms = 0;
    for (let delay = 50; ; delay = Math.min(delay * 2, 5000)) {
      try {
        const started = performance.now();
        await this.store.commit(batch);
        ms = performance.now() - started;
        break;
      } catch (err) {
        // A failed commit (disk full, locked) is retried: the batch is not acknowledged until it lands.
        this.opts.onError(err);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.commits++;
    this.opts.metrics?.committed?.(ms, batch.tasks.length + batch.attempts.length + batch.jobs.length);
    this.opts.onCommitted(committed);
  }
}
