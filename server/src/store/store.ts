/**
 * The one storage interface. A master dispatches from memory over the tasks it has claimed (rule K1); the
 * store makes things durable (jobs on submission, outcomes in group commits, fenced by claim: K4), keeps the
 * masters' liveness (K2), and answers reads. Every backend passes the same contract suite (contract.ts).
 */
import type { JobStatus } from '@barnraise/shared';
import type { AttemptEnd } from '../scheduler/lease.ts';
import type { JobSpec } from '../scheduler/state.ts';
import type { ReplicaKind, ReplicaVerdict } from '../validation/job.ts';
import type { Vote } from '../validation/quorum.ts';
import type { IdentityRecord, TrustEvent } from '../validation/trust.ts';

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
  /** Final tasks numbered so far, in commit order (rule K6). */
  fin?: number;
}

/** A job row without its code: what masters sync on and what a commit receipt returns. */
export type JobCounters = Omit<JobRecord, 'code' | 'name' | 'validation' | 'assets'> & { fin: number };

/**
 * [K5] What a commit changes in a job row, by increments: the task counters come from the task writes that
 * took effect, these from what the master counted since its last commit. Never absolute values from memory.
 */
export interface JobDelta {
  id: string;
  requeues: number;
  replicas: number;
  inconclusive: number;
  /** The job's first lease happened in this batch: queued becomes running. */
  startedAt?: number;
}

/** A master, and the generation of its liveness: its claims are fenced by both (rules K2-K4). */
export interface Owner {
  master: string;
  gen: number;
}

/** A task a master claimed (K1): it is the master's to lease from memory until it ends or is released. */
export interface ClaimedTask {
  index: number;
  input: unknown;
  failures: number;
  losses: number;
  error: string | null;
  /** Validated jobs: its unsettled votes (V13), which may come from other masters. */
  votes?: Vote[];
}

/** A master as the cluster sees it (K2). */
export interface MasterRow {
  id: string;
  gen: number;
  /** Where other masters reach it (for the volunteers of the whole cluster). */
  url: string;
  startedAt: number;
  /** Its last beat, on the store's clock. */
  beatAt: number;
  /** What it published with the beat: its swarm totals. */
  stats: MasterStats;
}

export interface MasterStats {
  volunteers: number;
  threads: number;
  tasksPerSecond: number;
  tasksDone: number;
  leased: number;
}

/** [K7] One line of the cluster's event log. */
export interface ClusterEvent {
  t: number;
  master: string;
  kind: string;
  text: string;
  job?: string;
  volunteer?: string;
  identity?: string;
}

/** A final task with its place in the job's commit order (K6). */
export type FinishedTaskAt = FinishedTask & { fin: number };

/** One task change in a group commit. `failures`/`losses` are the task's counts after the change. */
/** [D6] The attempt that made a task done, kept on its task row instead of a row of its own. */
export interface FinalAttempt {
  attempt: string;
  volunteer: string;
  leasedAt: number;
  endedAt: number;
}

export type TaskWrite =
  | { kind: 'done'; job: string; index: number; output: unknown; failures: number; losses: number; by?: FinalAttempt }
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

/**
 * A change of trust (section V) as the store applies it, in order, to the identity's record as stored: the
 * same pure transitions the master ran in memory (trust.ts), so several masters changing one identity
 * compose instead of overwriting each other (K5).
 */
export type IdentityEvent = TrustEvent;

export interface CommitBatch {
  /**
   * [K9] Names the batch: a retried batch carries the same id, and a store that already committed it answers
   * with the receipt it gave then, applying nothing twice. Only the writer's last batch is remembered.
   */
  id?: string;
  /** [K4] The master writing: its task writes, votes and verdicts take effect only on tasks it has claimed. */
  owner?: Owner;
  /** When the batch was taken (ms): the finish time of jobs it completes. */
  at?: number;
  tasks: TaskWrite[];
  jobs: JobDelta[];
  attempts: AttemptWrite[];
  /** Validated jobs only (section V): absent means none. */
  replicas?: ReplicaWrite[];
  verdicts?: VerdictWrite[];
  identities?: IdentityEvent[];
  /** [K7] Lines for the cluster's event log. */
  events?: ClusterEvent[];
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
 * [K4] What a commit did: `applied[i]` tells whether `batch.tasks[i]` took effect, `votes[i]` whether
 * `batch.replicas[i]` did. A final write for a task that is already final is refused (rule E1), and so is
 * any write for a task the batch's owner does not hold. Only what took effect is acknowledged.
 */
export interface CommitReceipt {
  applied: boolean[];
  votes: boolean[];
  /** Every job the batch touched, as it is now: a job completes in the commit of its last final task (K5). */
  jobs: JobCounters[];
  /** Every identity the batch changed, as it is now. */
  identities: IdentityRecord[];
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
  /** Apply one group commit atomically: all of it is durable when this resolves, or none (rule D2). */
  commit(batch: CommitBatch): Promise<CommitReceipt>;
  getJob(id: string): Promise<JobRecord | undefined>;
  /** Newest first. */
  listJobs(limit: number, cursor?: string): Promise<JobPage>;
  /** [K7] Jobs that are queued or running, oldest first, without their code. */
  activeJobs(): Promise<JobCounters[]>;
  /** The operator's known answers of a job (section V). */
  jobChecks(jobId: string): Promise<StoredCheck[]>;
  /** [J3] Cancel a queued or running job (its claims go with it); a finished one is returned unchanged. */
  cancelJob(jobId: string, at: number): Promise<JobCounters | undefined>;
  /** Final tasks of a job with index > `afterIndex`, in index order, at most `limit`. */
  readResults(jobId: string, afterIndex: number, limit: number): Promise<FinishedTask[]>;
  /** [K6] Final tasks of a job numbered after `afterFin`, in commit order, at most `limit`. */
  resultsSince(jobId: string, afterFin: number, limit: number): Promise<FinishedTaskAt[]>;
  /** Final tasks of one status, in index order, at most `limit` (samples for the dashboard). */
  sampleResults(jobId: string, status: 'done' | 'failed', limit: number): Promise<FinishedTask[]>;
  taskDetail(jobId: string, index: number): Promise<TaskDetail | undefined>;
  /**
   * [J4] Put a job's failed tasks back to pending and unclaimed (failure counts cleared) and the job back to
   * running. Returns how many it reset.
   */
  resetFailed(jobId: string): Promise<number>;
  /** [K1] Claim up to `n` pending tasks of a job that nobody holds, lowest index first, for `owner`. */
  claimTasks(jobId: string, owner: Owner, n: number): Promise<ClaimedTask[]>;
  /** Give back claims on these tasks (still pending) so another master may take them. */
  releaseTasks(jobId: string, owner: Owner, indices: readonly number[]): Promise<number>;
  /** [K3] Give back every claim of `master` (of a generation before `beforeGen`, when given). */
  releaseClaims(master: string, beforeGen?: number): Promise<number>;
  /** [K2] A master's beat: it is alive, on the store's clock; returns that clock's time (ms). */
  beat(owner: Owner, url: string, stats: MasterStats): Promise<number>;
  /** [K2] Masters silent for `ttlMs` are dead: their claims are released and their rows removed. Returns them. */
  sweep(ttlMs: number): Promise<string[]>;
  /** Masters that beat within `ttlMs`. */
  liveMasters(ttlMs: number): Promise<MasterRow[]>;
  /** [K7] The cluster's event log after `afterSeq`, oldest first, at most `limit`, with each line's seq. */
  eventsSince(afterSeq: number, limit: number): Promise<Array<ClusterEvent & { seq: number }>>;
  getIdentity(id: string): Promise<IdentityRecord | undefined>;
  /** The records of these identities that exist. */
  getIdentities(ids: readonly string[]): Promise<IdentityRecord[]>;
  /** Identities, newest first. */
  listIdentities(offset: number, limit: number): Promise<IdentityPage>;
  /** Delete finished (completed or cancelled) jobs that finished before `before` (ms). Returns how many. */
  deleteFinishedBefore(before: number): Promise<number>;
  /**
   * [K7] Be told soon when another master submits, cancels or retries a job (PostgreSQL). Absent where no
   * other master can (SQLite). A hint only: the periodic read of the active jobs stays the truth.
   */
  watchJobs?(onChange: () => void, onError?: (err: Error) => void): { close(): Promise<void> };
  close(): Promise<void>;
}
