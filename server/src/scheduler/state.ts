/**
 * The scheduler's in-memory state: active jobs with per-task state in typed arrays (a million-task job
 * costs a few MB, not a million objects), live attempts, and connected volunteers. A master holds only the
 * tasks it has claimed from the store (rule K1); the rest of a job is `absent` here.
 */
import type { AssetRef, JobStatus, MasterMessage } from '@barnraise/shared';
import type { ClaimedTask, JobCounters } from '../store/store.ts';
import type { JobValidation, KnownAnswerEntry, ValidationPolicy } from '../validation/job.ts';

/** Per-task state. `done` and `failed` are final (rule E1); `absent`: not claimed by this master. */
export const TaskState = { queued: 0, leased: 1, done: 2, failed: 3, absent: 4 } as const;
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
  /** The files its code reads through `ctx.assets` (section A); absent: none. */
  assets?: AssetRef[];
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
  /** Claimed indices never leased here yet, lowest first (K1). */
  private fresh: number[] = [];
  private freshHead = 0;
  /**
   * Local counts: `queued` and `leased` are this master's (claimed and waiting, leased); `done` and `failed`
   * are the job's durable totals over the cluster, as the store's receipts and syncs last said (K5).
   */
  readonly counts = { queued: 0, leased: 0, done: 0, failed: 0 };
  /** Requeues here since the job joined this master (sent to the store as increments). */
  requeues = 0;
  /** The job's row as the store last said (receipt or sync): durable counters, status. */
  durable: JobCounters | null = null;
  /** The store may hold pending tasks of this job that nobody claimed: worth asking for more (K1). */
  claimable = true;
  /** A claim of this job's tasks is on its way from the store. */
  claiming = false;
  /** An upper bound on any input's JSON size in bytes: how many of its tasks fit in one frame (rule S15). */
  maxInputBytes = 0;
  /** The inputs were not measured at submission here: claims measure them as they come. */
  measureClaims = false;
  /** Votes, replicas and checks of a validated job (section V). */
  validation: JobValidation | null = null;
  /** Smoothed attempt duration (ms) volunteers report: how many of its leases one may hold (P3). */
  avgMs: number | undefined;

  /** `inputs[i]` is known only while task i is claimed here and not final, so memory follows the claimed part of a job. */
  readonly inputs: unknown[];

  constructor(readonly spec: JobSpec) {
    // Holey but not sparse: lookups on the dispatch path stay fast.
    this.inputs = new Array<unknown>(spec.total);
    this.state = new Uint8Array(spec.total).fill(TaskState.absent);
    this.failures = new Uint8Array(spec.total);
    this.losses = new Uint8Array(spec.total);
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

  /** True when every task is done or failed (or the job was cancelled), as the store said. */
  isFinished(): boolean {
    return this.status === 'completed' || this.status === 'cancelled';
  }

  /** [K1] Tasks claimed from the store become this master's to lease; returns those that are fresh here. */
  claimed(tasks: readonly ClaimedTask[]): ClaimedTask[] {
    const taken: ClaimedTask[] = [];
    for (const t of tasks) {
      if (this.state[t.index] !== TaskState.absent) continue;
      this.state[t.index] = TaskState.queued;
      this.inputs[t.index] = t.input;
      this.failures[t.index] = t.failures;
      this.losses[t.index] = t.losses;
      if (t.error !== null) this.lastError.set(t.index, t.error);
      this.counts.queued++;
      taken.push(t);
      // A validated task with votes is decided by its votes (validation.restore), not served as fresh.
      if (!t.votes?.length) this.fresh.push(t.index);
    }
    return taken;
  }

  /** [K3] Claims that are no longer this master's: their tasks go absent here (those not leased). */
  drop(indices: Iterable<number>): void {
    for (const i of indices) {
      if (this.state[i] !== TaskState.queued) continue;
      this.state[i] = TaskState.absent;
      this.inputs[i] = undefined;
      this.counts.queued--;
    }
  }

  /** Claimed tasks not leased yet, lowest first: the buffer of this job on this master. */
  buffered(): number[] {
    const out: number[] = [];
    for (const i of this.retry) if (this.state[i] === TaskState.queued) out.push(i);
    for (let k = this.freshHead; k < this.fresh.length; k++) if (this.state[this.fresh[k]!] === TaskState.queued) out.push(this.fresh[k]!);
    return out;
  }

  /** Pop the next queued index: retries first, then fresh ones in index order. */
  nextIndex(): number | undefined {
    while (this.retry.length > 0) {
      const i = this.retry.pop()!;
      if (this.state[i] === TaskState.queued) return i;
    }
    return this.nextFresh();
  }

  /** The next claimed index never leased here. */
  nextFresh(): number | undefined {
    while (this.freshHead < this.fresh.length) {
      const i = this.fresh[this.freshHead++]!;
      if (this.freshHead > 4096 && this.freshHead * 2 > this.fresh.length) {
        this.fresh = this.fresh.slice(this.freshHead);
        this.freshHead = 0;
      }
      if (this.state[i] === TaskState.queued) return i;
    }
    return undefined;
  }

  /** Claimed indices never leased here, still waiting. */
  freshLeft(): number {
    return this.fresh.length - this.freshHead;
  }

  /** The store's row: durable totals and status (K5). */
  sync(c: JobCounters): void {
    this.durable = c;
    this.counts.done = c.done;
    this.counts.failed = c.failed;
    if (c.startedAt !== null && this.startedAt === null) this.startedAt = c.startedAt;
    if (c.status === 'running' && this.status === 'queued') this.status = 'running';
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
  /** Live attempts per job (P3: each job's are capped by its task length). */
  readonly held = new Map<JobState, number>();
  /** Jobs whose code this connection already has (rule C1), and when it was sent (rule A5). */
  readonly jobsSent = new Map<string, number>();
  tasksDone = 0;
  cpuMs = 0;
  hidden = false;
  /** It asked for `ack` frames at hello (rule D2). */
  acks = false;
  lastSeen: number;
  /** When it last went from holding no lease to holding some (H2: the busy beat is due from then). */
  busySince = 0;
  /** When the last swarm frame was sent to it (P5: idle volunteers get them less often). */
  swarmAt = 0;

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
