/**
 * The scheduler's in-memory state: active jobs with per-task state in typed arrays (a million-task job
 * costs a few MB, not a million objects), live attempts, and connected volunteers.
 */
import type { JobStatus, MasterMessage } from '@barnraise/shared';
import type { JobValidation, KnownAnswerEntry, ValidationPolicy } from '../validation/job.ts';

/** Per-task state. `done` and `failed` are final (rule E1). */
export const TaskState = { queued: 0, leased: 1, done: 2, failed: 3 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** What the scheduler needs of a volunteer's socket. */
export interface VolunteerPort {
  send(msg: MasterMessage): void;
  /** Send a frame already encoded once for many volunteers (the swarm broadcast). */
  sendEncoded(frame: Buffer): void;
  close(code: number, reason: string): void;
  /** Bytes sent but not yet written to the network (the socket's backlog). */
  backlog(): number;
}

/** The settings a job is created with; also what the store keeps. */
export interface JobSpec {
  id: string;
  name: string;
  code: string;
  priority: number;
  timeoutMs: number;
  maxAttempts: number;
  maxLosses: number;
  total: number;
  createdAt: number;
  /** How results are validated (section V); absent: mode `none`, one result from anyone is final. */
  validation?: ValidationPolicy;
}

export class JobState {
  status: JobStatus = 'queued';
  startedAt: number | null = null;
  finishedAt: number | null = null;
  /** TaskState per index. */
  readonly state: Uint8Array;
  /** Failed attempts (error or deadline) per index (rule T2). */
  readonly failures: Uint8Array;
  /** Attempts lost with their volunteer per index (rule T3). */
  readonly losses: Uint8Array;
  /** Last error per task that has failed at least once. */
  readonly lastError = new Map<number, string>();
  /** Requeued indices, served before fresh ones so a job's tail is not starved. */
  readonly retry: number[] = [];
  /** Next never-leased index to consider. */
  cursor = 0;
  readonly counts = { queued: 0, leased: 0, done: 0, failed: 0 };
  requeues = 0;
  /** An upper bound on any input's JSON size in bytes: how many of its tasks fit in one frame (rule S15). */
  maxInputBytes = 0;
  /** Votes, replicas and checks of a validated job (section V). */
  validation: JobValidation | null = null;

  /** `inputs[i]` is freed once task i is final, so memory follows the unfinished part of a job. */
  constructor(
    readonly spec: JobSpec,
    readonly inputs: unknown[],
  ) {
    this.state = new Uint8Array(spec.total);
    this.failures = new Uint8Array(spec.total);
    this.losses = new Uint8Array(spec.total);
    this.counts.queued = spec.total;
  }

  get id(): string {
    return this.spec.id;
  }

  /** True when a task can be leased now (for a validated job: perhaps, to some volunteer). */
  hasWork(): boolean {
    if (this.status === 'cancelled' || this.status === 'completed') return false;
    return this.validation ? this.validation.workCount() > 0 : this.counts.queued > 0;
  }

  /** Leases this job could give now: queued tasks, or (validated) fresh tasks and wanted replicas. */
  workCount(): number {
    if (this.status === 'cancelled' || this.status === 'completed') return 0;
    return this.validation ? this.validation.workCount() : this.counts.queued;
  }

  /** True when every task is done or failed (or the job was cancelled). */
  isFinished(): boolean {
    return this.status === 'completed' || this.status === 'cancelled';
  }

  /** Pop the next queued index: retries first, then fresh ones in index order. */
  nextIndex(): number | undefined {
    while (this.retry.length > 0) {
      const i = this.retry.pop()!;
      if (this.state[i] === TaskState.queued) return i;
    }
    return this.nextFresh();
  }

  /** The next never-leased queued index. */
  nextFresh(): number | undefined {
    while (this.cursor < this.spec.total) {
      const i = this.cursor++;
      if (this.state[i] === TaskState.queued) return i;
    }
    return undefined;
  }

  /** Indices the fresh cursor has passed. */
  cursorConsumed(): number {
    return this.cursor;
  }
}

export interface Attempt {
  readonly id: string;
  readonly job: JobState;
  readonly index: number;
  readonly volunteer: VolunteerState;
  readonly leasedAt: number;
  /** Past this the attempt counts as failed (rule L4). */
  readonly deadline: number;
  progress: number;
  /** A known-answer check (section V) leased as index `index` of the job, with the check's own input. */
  readonly check?: KnownAnswerEntry;
}

export type Agent = 'browser' | 'node';

export class VolunteerState {
  /** Leases the master may still send (rule P3). */
  credits = 0;
  readonly attempts = new Map<string, Attempt>();
  /** Jobs whose code this connection already has (rule C1). */
  readonly jobsSent = new Set<string>();
  tasksDone = 0;
  cpuMs = 0;
  hidden = false;
  lastSeen: number;

  constructor(
    readonly id: string,
    readonly port: VolunteerPort,
    readonly threads: number,
    readonly agent: Agent,
    readonly ua: string,
    readonly connectedAt: number,
    /** The id of the identity it proved at hello (rule V1), or null: anonymous. */
    readonly identity: string | null = null,
    /** Its network (IPv4 /24, IPv6 /48), for replica placement (rule V6). */
    readonly network = '',
  ) {
    this.lastSeen = connectedAt;
  }
}
