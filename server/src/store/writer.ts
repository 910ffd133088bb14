/**
 * Group commit: the scheduler's changes collect here and reach the store in one transaction every
 * `intervalMs` (or sooner when a batch fills), never one transaction per task message (rule D2). Each batch
 * is fenced by the master's claims (K4); the store's receipt says which writes took effect, and only those
 * are acknowledged to volunteers and shown to readers. Job counters travel as increments (K5).
 */
import { randomUUID } from 'node:crypto';
import type { ResultLine } from '@barnraise/shared';
import type { AttemptEnd, Journal } from '../scheduler/lease.ts';
import type { Attempt, JobState, VolunteerState } from '../scheduler/state.ts';
import type { AttemptWrite, ClusterEvent, CommitBatch, CommitReceipt, IdentityEvent, JobDelta, Owner, ReplicaWrite, Store, TaskWrite, VerdictWrite } from './store.ts';
import type { TrustJournal } from '../validation/book.ts';
import type { ReplicaKind, ReplicaVerdict, ValidationJournal } from '../validation/job.ts';
import type { Vote } from '../validation/quorum.ts';

/** What became durable in one commit, as the receipt says (K4). */
export interface Committed {
  /** Attempt ids per volunteer whose outcomes took effect and are now durable. */
  acks: Map<VolunteerState, string[]>;
  /** Final results that took effect, for followers. */
  results: Array<{ job: JobState; line: ResultLine }>;
  /** Final writes the store refused: the task was not this master's any more (or already final). */
  refused: Array<{ job: JobState; index: number }>;
  receipt: CommitReceipt;
}

export interface WriterOptions {
  intervalMs: number;
  /** Flush at once when this many task writes are pending. */
  maxBatch: number;
  /** Who writes (K4); absent: unfenced (a store nobody else writes to, in tests). */
  owner?: () => Owner;
  onCommitted(c: Committed): void;
  onError(err: unknown): void;
  /** Told what the writer is told, as it is told, and how long each commit took (metrics/metrics.ts). */
  metrics?: WriterMetrics;
  now?: () => number;
}

/** A listener on the writer for metrics: the journal's calls (each optional) and each commit's duration. */
export interface WriterMetrics extends Partial<Journal> {
  /** One batch of `writes` became durable in `ms` (one successful store.commit; failed tries not counted). */
  committed?(ms: number, writes: number): void;
}

/** A job's local counters as last sent: the next batch sends what moved since (K5). */
interface Sent {
  requeues: number;
  replicas: number;
  inconclusive: number;
  started: boolean;
}

export class GroupCommit implements Journal, ValidationJournal, TrustJournal {
  private tasks: TaskWrite[] = [];
  /** Per task write: the attempt to acknowledge and the result to show if it takes effect. */
  private taskSources: Array<{ attempt: Attempt | null; line: ResultLine | null; job: JobState }> = [];
  private attempts: AttemptWrite[] = [];
  /**
   * [D6] Attempts that ended done, held back a moment: the one that makes its task final rides on the task's
   * write (its row says who ran it and when), one row fewer a task. The rest become rows at the next take.
   */
  private doneAttempts = new Map<string, AttemptWrite>();
  /**
   * The attempt that ended done last, kept out of `doneAttempts` until another ends: nearly always its task's
   * final write comes at once and takes it. A Map that gains and loses one entry a task reallocates its table
   * each time (about 200 bytes a task, the largest of the master's allocations but three).
   */
  private lastDone: AttemptWrite | null = null;
  private replicas: ReplicaWrite[] = [];
  private replicaAttempts: Attempt[] = [];
  private verdicts: VerdictWrite[] = [];
  private identities: IdentityEvent[] = [];
  private events: ClusterEvent[] = [];
  private jobs = new Set<JobState>();
  private readonly sent = new WeakMap<JobState, Sent>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Ends the wait before a failed commit's next try (`retryNow`). */
  private wake: (() => void) | null = null;
  /** Transactions committed so far (observability and tests of batching). */
  commits = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: WriterOptions,
  ) {}

  finished(job: JobState, line: ResultLine, attempt: Attempt | null): void {
    this.opts.metrics?.finished?.(job, line, attempt);
    const index = line.index;
    const failures = job.failures[index]!;
    const losses = job.losses[index]!;
    // Object literals of one shape per kind, no spreads: this runs once per task.
    if (line.status === 'done') {
      const ended = attempt ? this.takeDone(attempt.id) : undefined;
      // The attempt's own write is the FinalAttempt (a superset of it): no copy a task.
      this.tasks.push({ kind: 'done', job: job.id, index, output: line.output, failures, losses, by: ended });
    } else this.tasks.push({ kind: 'failed', job: job.id, index, error: line.error, failures, losses });
    this.taskSources.push({ attempt, line, job });
    this.jobs.add(job);
    this.schedule();
  }

  requeued(job: JobState, index: number): void {
    this.opts.metrics?.requeued?.(job, index);
    this.tasks.push({ kind: 'retry', job: job.id, index, failures: job.failures[index]!, losses: job.losses[index]!, error: job.lastError.get(index) ?? null });
    this.taskSources.push({ attempt: null, line: null, job });
    this.jobs.add(job);
    this.schedule();
  }

  touched(job: JobState): void {
    this.jobs.add(job);
    this.schedule();
  }

  attemptEnded(a: Attempt, end: AttemptEnd, error: string | null, at: number): void {
    this.opts.metrics?.attemptEnded?.(a, end, error, at);
    const write: AttemptWrite = { job: a.job.id, index: a.index, attempt: a.id, volunteer: a.volunteer.id, leasedAt: a.leasedAt, endedAt: at, end, error };
    if (end === 'done') {
      if (this.lastDone) this.doneAttempts.set(this.lastDone.attempt, this.lastDone);
      this.lastDone = write;
    } else this.attempts.push(write);
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
    this.replicaAttempts.push(a);
    this.jobs.add(job);
    this.schedule();
  }

  /** [D6] The done attempt `id`, no longer held back (undefined when it is not: a validated task's replica). */
  private takeDone(id: string): AttemptWrite | undefined {
    const last = this.lastDone;
    if (last !== null && last.attempt === id) {
      this.lastDone = null;
      return last;
    }
    const ended = this.doneAttempts.get(id);
    if (ended) this.doneAttempts.delete(id);
    return ended;
  }

  verdict(job: JobState, index: number, attempt: string, verdict: ReplicaVerdict): void {
    this.verdicts.push({ job: job.id, index, attempt, verdict });
    this.schedule();
  }

  identityEvent(e: IdentityEvent): void {
    this.identities.push(e);
    this.schedule();
  }

  /**
   * [K5] Events of identity `id` not yet taken into a batch. One batch is written at a time, so when a
   * commit's receipt arrives these are exactly the changes made in memory since it was taken.
   */
  pendingIdentityEvents(id: string): IdentityEvent[] {
    return this.identities.filter((e) => e.id === id);
  }

  /** [K7] A line for the cluster's event log. */
  event(e: ClusterEvent): void {
    this.events.push(e);
    this.schedule();
  }

  /**
   * The store is back (K8): a commit waiting to be tried again is tried now. Its backoff grows to 5 s while
   * the store is down, and without this the results of a whole outage would wait that long once it is over.
   */
  retryNow(): void {
    this.wake?.();
  }

  /** Pending writes not yet handed to the store. */
  get pending(): number {
    return this.tasks.length + this.jobs.size + this.attempts.length + this.doneAttempts.size + (this.lastDone ? 1 : 0) + this.replicas.length + this.verdicts.length + this.identities.length + this.events.length;
  }

  private schedule(): void {
    // While a commit runs, what arrives waits for it: its end schedules again. A flush started here for each
    // write past a full batch waited on the running commit, and every commit woke them all (27,000 of
    // them at once behind a PostgreSQL commit, more CPU in the collector than in the store's client).
    if (this.running) return;
    if (this.tasks.length + this.attempts.length + this.replicas.length + this.verdicts.length >= this.opts.maxBatch) {
      void this.flush();
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.opts.intervalMs);
  }

  /** Commit everything pending now; resolves when all of it (and any commit before it) is durable. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.running) await this.running;
    if (this.pending === 0) return;
    const taken = this.take();
    this.running = this.write(taken).finally(() => {
      this.running = null;
      if (this.pending > 0) this.schedule();
    });
    await this.running;
  }

  /** [K5] What moved in a job's local counters since the last batch. */
  private delta(job: JobState): JobDelta {
    const last = this.sent.get(job) ?? { requeues: 0, replicas: 0, inconclusive: 0, started: false };
    const now: Sent = { requeues: job.requeues, replicas: job.validation?.replicas ?? 0, inconclusive: job.validation?.inconclusive ?? 0, started: job.startedAt !== null };
    this.sent.set(job, now);
    const d: JobDelta = { id: job.id, requeues: now.requeues - last.requeues, replicas: now.replicas - last.replicas, inconclusive: now.inconclusive - last.inconclusive };
    if (now.started && !last.started) d.startedAt = job.startedAt!;
    return d;
  }

  private take() {
    const owner = this.opts.owner?.();
    for (const a of this.doneAttempts.values()) this.attempts.push(a);
    this.doneAttempts.clear();
    if (this.lastDone) this.attempts.push(this.lastDone);
    this.lastDone = null;
    const batch: CommitBatch = {
      // [K9] A retry carries the same id: a try that landed unconfirmed is not applied twice.
      id: randomUUID(),
      ...(owner ? { owner } : {}),
      at: (this.opts.now ?? Date.now)(),
      tasks: this.tasks,
      attempts: this.attempts,
      replicas: this.replicas,
      verdicts: this.verdicts,
      identities: this.identities,
      events: this.events,
      jobs: [...this.jobs].map((j) => this.delta(j)),
    };
    const taken = { batch, taskSources: this.taskSources, replicaAttempts: this.replicaAttempts };
    this.tasks = [];
    this.taskSources = [];
    this.attempts = [];
    this.replicas = [];
    this.replicaAttempts = [];
    this.verdicts = [];
    this.identities = [];
    this.events = [];
    this.jobs = new Set();
    return taken;
  }

  private async write({ batch, taskSources, replicaAttempts }: ReturnType<GroupCommit['take']>): Promise<void> {
    let ms = 0;
    let receipt: CommitReceipt;
    for (let delay = 50; ; delay = Math.min(delay * 2, 5000)) {
      try {
        const started = performance.now();
        receipt = await this.store.commit(batch);
        ms = performance.now() - started;
        break;
      } catch (err) {
        // A failed commit (disk full, database down) is retried: the batch is not acknowledged until it lands.
        this.opts.onError(err);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => this.wake?.(), delay);
          this.wake = () => {
            clearTimeout(timer);
            this.wake = null;
            resolve();
          };
        });
      }
    }
    this.commits++;
    this.opts.metrics?.committed?.(ms, batch.tasks.length + batch.attempts.length + batch.jobs.length);
    const acks = new Map<VolunteerState, string[]>();
    // [D2] Only to volunteers that asked for them at hello.
    const ack = (a: Attempt) => {
      if (!a.volunteer.acks) return;
      const list = acks.get(a.volunteer);
      if (list) list.push(a.id);
      else acks.set(a.volunteer, [a.id]);
    };
    const results: Committed['results'] = [];
    const refused: Committed['refused'] = [];
    taskSources.forEach((src, i) => {
      if (!src.line) return;
      if (receipt.applied[i]) {
        results.push({ job: src.job, line: src.line });
        if (src.attempt) ack(src.attempt);
      } else refused.push({ job: src.job, index: src.line.index });
    });
    replicaAttempts.forEach((a, i) => {
      if (receipt.votes[i]) ack(a);
    });
    this.opts.onCommitted({ acks, results, refused, receipt });
  }
}
