/**
 * The one storage interface. The scheduler dispatches from memory; the store only makes things durable
 * (jobs on submission, results in group commits) and answers reads for finished history. Every backend
 * passes the same contract suite (contract.ts).
 */
import type { JobStatus } from '@barnraise/shared';
import type { AttemptEnd } from '../scheduler/lease.ts';
import type { JobSpec } from '../scheduler/state.ts';
import type { ReplicaKind, ReplicaVerdict } from '../validation/job.ts';
import type { Vote } from '../validation/quorum.ts';
import type { IdentityRecord } from '../validation/trust.ts';

export type { IdentityRecord, ReplicaKind, ReplicaVerdict, Vote };

/** A job's durable summary row. */
export interface JobRecord extends JobSpec {
  status: JobStatus;
  done: number;
  failed: number;
  requeues: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Validated jobs: results received (replicas and checks), and tasks failed as inconclusive. */
  replicas?: number;
  inconclusive?: number;
}

/** The mutable part of a job row, written with every commit that touches the job. */
export type JobProgress = Pick<JobRecord, 'id' | 'status' | 'done' | 'failed' | 'requeues' | 'startedAt' | 'finishedAt'> & { replicas?: number; inconclusive?: number };

/** One task change in a group commit. `failures`/`losses` are the task's counts after the change. */
export type TaskWrite =
  | { kind: 'done'; job: string; index: number; output: unknown; failures: number; losses: number }
  | { kind: 'failed'; job: string; index: number; error: string; failures: number; losses: number }
  | { kind: 'retry'; job: string; index: number; failures: number; losses: number; error: string | null };

/** One ended attempt, for the task's attempt history. */
export interface AttemptRecord {
  attempt: string;
  volunteer: string;
  leasedAt: number;
  endedAt: number;
  end: AttemptEnd;
  error: string | null;
}

export interface AttemptWrite extends AttemptRecord {
  job: string;
  index: number;
}

/** A replica's outcome (a vote on its task) or a known-answer check's, durable before it is acknowledged (V13). */
export interface ReplicaWrite {
  job: string;
  index: number;
  attempt: string;
  identity: string;
  network: string;
  kind: ReplicaKind;
  ok: boolean;
  hash: string;
  output: unknown;
  error: string | null;
  at: number;
  verdict: ReplicaVerdict;
}

/** A replica's verdict changed (settled, credited, void after a ban). */
export interface VerdictWrite {
  job: string;
  index: number;
  attempt: string;
  verdict: ReplicaVerdict;
}

export interface CommitBatch {
  tasks: TaskWrite[];
  jobs: JobProgress[];
  attempts: AttemptWrite[];
  /** Validated jobs only (section V): absent means none. */
  replicas?: ReplicaWrite[];
  verdicts?: VerdictWrite[];
  /** Identities created or changed (trust, bans): the record as it is now. */
  identities?: IdentityRecord[];
}

/** One replica as a task's detail shows it. */
export interface ReplicaRecord {
  attempt: string;
  identity: string;
  kind: ReplicaKind;
  ok: boolean;
  hash: string;
  error: string | null;
  at: number;
  verdict: ReplicaVerdict;
}

/** A known answer the operator gave with a job. */
export interface StoredCheck {
  input: unknown;
  output: unknown;
  index?: number;
}

export interface IdentityPage {
  total: number;
  offset: number;
  rows: IdentityRecord[];
}

/**
 * What a commit did with its task writes: `applied[i]` tells whether `batch.tasks[i]` took effect. A final
 * write for a task that is already final is refused (rule E1), and so is a retry that comes after it. A
 * backend that returns no receipt (SQLite) applies its writes under the same rule without saying which.
 */
export interface CommitReceipt {
  applied: boolean[];
}

/** Everything known about one task (dashboard job detail). */
export interface TaskDetail {
  index: number;
  state: 'pending' | 'done' | 'failed';
  input: unknown;
  output?: unknown;
  error?: string;
  failures: number;
  losses: number;
  /** Ended attempts, oldest first. */
  attempts: AttemptRecord[];
  /** Validated jobs: every replica and check leased as this index, oldest first. */
  replicas?: ReplicaRecord[];
}

/** A task not yet final, as recovery needs it. */
export interface PendingTask {
  index: number;
  input: unknown;
  failures: number;
  losses: number;
  error: string | null;
}

export interface RecoveredJob {
  record: JobRecord;
  pending: PendingTask[];
  /** Validated jobs: the unsettled votes of pending tasks (rule V13). */
  votes?: Array<{ index: number; vote: Vote }>;
  checks?: StoredCheck[];
}

/** A final task as the results stream shows it. */
export type FinishedTask =
  | { index: number; status: 'done'; output: unknown }
  | { index: number; status: 'failed'; error: string };

export interface JobPage {
  jobs: JobRecord[];
  /** Cursor for the next (older) page. */
  next?: string;
}

export interface Store {
  /** Insert a job, all its tasks and its known answers; resolves once durable (rule D1). Ids are unique. */
  insertJob(spec: JobRecord, inputs: readonly unknown[], checks?: readonly StoredCheck[]): Promise<void>;
  /**
   * Apply one group commit atomically: all of it is durable when this resolves, or none (rule D2). A
   * backend may say which task writes took effect.
   */
  commit(batch: CommitBatch): Promise<CommitReceipt | void>;
  /** Jobs that are queued or running, each with its unfinished tasks (rule D3). */
  loadUnfinished(): Promise<RecoveredJob[]>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  listJobs(limit: number, cursor?: string): Promise<JobPage>;
  /** Final tasks of a job with index > `afterIndex`, in index order, at most `limit`. */
  readResults(jobId: string, afterIndex: number, limit: number): Promise<FinishedTask[]>;
  /** Final tasks of one status, in index order, at most `limit` (samples for the dashboard). */
  sampleResults(jobId: string, status: 'done' | 'failed', limit: number): Promise<FinishedTask[]>;
  taskDetail(jobId: string, index: number): Promise<TaskDetail | undefined>;
  /** One queued or running job with its unfinished tasks, as `loadUnfinished` gives it. */
  loadJob(jobId: string): Promise<RecoveredJob | undefined>;
  /**
   * Put a job's failed tasks back to pending (failure counts cleared) and the job back to running.
   * Returns the tasks it reset.
   */
  resetFailed(jobId: string): Promise<PendingTask[]>;
  getIdentity(id: string): Promise<IdentityRecord | undefined>;
  /** The records of these identities that exist. */
  getIdentities(ids: readonly string[]): Promise<IdentityRecord[]>;
  /** Identities, newest first. */
  listIdentities(offset: number, limit: number): Promise<IdentityPage>;
  /** Delete finished (completed or cancelled) jobs that finished before `before` (ms). Returns how many. */
  deleteFinishedBefore(before: number): Promise<number>;
  close(): Promise<void>;
}
