/**
 * Lease transitions, one function each (SPEC.md rules L*, T*, E*). Each checks the attempt it acts on:
 * only a live attempt held by the calling volunteer can change a task, which is what makes a late or
 * forged result harmless (rules L2, L3, E1).
 */
import { leasesPerThread, PYTHON_MARKER, type ResultLine } from '@barnraise/shared';
import type { Clock } from './clock.ts';
import type { FairQueue } from './queue.ts';
import { TaskState, type Attempt, type JobState, type VolunteerState } from './state.ts';
import type { KnownAnswerEntry } from '../validation/job.ts';

/** Where the transitions record what must become durable (implemented by the group-commit writer). */
export interface Journal {
  /** Task reached its one final state; `attempt` is the one that produced it, if any. */
  finished(job: JobState, line: ResultLine, attempt: Attempt | null): void;
  /** Task went back to the queue with new failure/loss counts. */
  requeued(job: JobState, index: number): void;
  /** Job summary changed (status, timestamps). */
  touched(job: JobState): void;
  /** An attempt ended at `at` (ms), for the task's attempt history. */
  attemptEnded(attempt: Attempt, end: AttemptEnd, error: string | null, at: number): void;
}

/** How an attempt ended (its row in the attempt history). */
export const AttemptEnd = {
  done: 'done',
  failed: 'failed',
  expired: 'expired',
  lost: 'lost',
  released: 'released',
  cancelled: 'cancelled',
  /** Its (validated) task became final on other volunteers' results while it ran. */
  settled: 'settled',
} as const;
export type AttemptEnd = (typeof AttemptEnd)[keyof typeof AttemptEnd];

export interface LeaseCore {
  readonly clock: Clock;
  readonly journal: Journal;
  readonly queue: FairQueue;
  readonly attempts: Map<string, Attempt>;
  /** Slack added to every deadline for the network and the volunteer's own timer. */
  readonly graceMs: number;
  newAttemptId(): string;
}

/** What a transition did with the attempt it was given. */
export type Outcome = 'accepted' | 'stale';

/** What a job gives one claim: a task index, or (validated) a known-answer check leased as one. */
interface Picked {
  index: number;
  check?: KnownAnswerEntry;
}

const plainTake = (job: JobState): Picked | undefined => {
  const index = job.nextIndex();
  return index === undefined ? undefined : { index };
};

/**
 * [V6] Leases of a validated job one volunteer may hold per thread, however short its tasks. Each such lease
 * is a decision taken when it is leased (a fresh task, a replica for this identity, a known-answer check, a
 * tail check or a corroboration): a volunteer holding 128 would be handed 128 checks at the end of a job, and
 * hold fresh tasks whose replicas must go to others.
 */
export const VALIDATED_PER_THREAD = 4;

/**
 * [P3] Most live leases of `job` one volunteer may hold: its threads × the prefetch the job's task length
 * calls for, and never fewer than 4 a thread (what every volunteer could hold before prefetch went by time);
 * a validated job's, 4 a thread (V6).
 */
export function heldCap(job: JobState, v: VolunteerState): number {
  return v.threads * (job.validation ? VALIDATED_PER_THREAD : Math.max(4, leasesPerThread(job.avgMs)));
}

/**
 * [A5] The pace at which a volunteer is assumed to fetch a job's assets (8 Mbit/s). Only the master's
 * backstop deadline uses it: a volunteer's own time limit starts when a thread takes the attempt.
 */
export const ASSET_BYTES_PER_MS = (1024 * 1024) / 1000;

/**
 * [A5] Extra time for an attempt of a job whose assets `v` may still be fetching: their size at
 * ASSET_BYTES_PER_MS from when the job was sent to it (now, for the first lease), or nothing.
 */
export function assetAllowance(job: JobState, v: VolunteerState, now: number): number {
  const assets = job.spec.assets;
  if (!assets || assets.length === 0) return 0;
  let bytes = 0;
  for (const a of assets) bytes += a.size;
  return Math.max(0, (v.jobsSent.get(job.id) ?? now) + bytes / ASSET_BYTES_PER_MS - now);
}

/**
 * [L4][Y4] A Python job's attempt may first wait for its thread's interpreter to start, which volunteers bound
 * by a time limit of its own (timeoutMs), not counted in the task's: one timeoutMs more.
 */
export function startAllowance(job: JobState): number {
  return job.spec.code.startsWith(PYTHON_MARKER) ? job.spec.timeoutMs : 0;
}

/** [L1] Lease up to `max` tasks to `v`, never more than its credits, nor more of a job than heldCap. */
export function claim(core: LeaseCore, v: VolunteerState, max = v.credits): Attempt[] {
  const out: Attempt[] = [];
  const now = core.clock.now();
  const take = (job: JobState): Picked | undefined => {
    if ((v.held.get(job) ?? 0) >= heldCap(job, v)) return undefined;
    return job.validation ? job.validation.take(v) : plainTake(job);
  };
  let n = Math.min(max, v.credits);
  while (n > 0) {
    const next = core.queue.next(take);
    if (!next) break;
    const { job, got } = next;
    // [L4] A volunteer runs its leases FIFO on `threads` threads, each bounded by timeoutMs, so a lease
    // with `ahead` others before it must be done within this many timeouts.
    const rounds = 1 + Math.floor(v.attempts.size / v.threads);
    const attempt: Attempt = {
      id: core.newAttemptId(),
      job,
      index: got.index,
      volunteer: v,
      leasedAt: now,
      deadline: now + rounds * job.spec.timeoutMs + core.graceMs + assetAllowance(job, v, now) + startAllowance(job),
      progress: 0,
      // One shape for every attempt (a spread here built each one property by property).
      check: got.check,
    };
    if (job.validation) job.validation.leased(attempt);
    else {
      job.state[got.index] = TaskState.leased;
      job.counts.queued--;
      job.counts.leased++;
    }
    if (job.status === 'queued') {
      job.status = 'running';
      job.startedAt = now;
      core.journal.touched(job);
    }
    core.attempts.set(attempt.id, attempt);
    if (v.attempts.size === 0) v.busySince = now;
    v.attempts.set(attempt.id, attempt);
    v.held.set(job, (v.held.get(job) ?? 0) + 1);
    v.credits--;
    n--;
    out.push(attempt);
  }
  return out;
}

/** The live attempt `id` if `v` holds it ([L2], [L3]); a stale or foreign id gives undefined. */
export function liveAttempt(v: VolunteerState, id: string): Attempt | undefined {
  return v.attempts.get(id);
}

function endAttempt(core: LeaseCore, a: Attempt, end: AttemptEnd, error: string | null = null): void {
  core.attempts.delete(a.id);
  a.volunteer.attempts.delete(a.id);
  const held = (a.volunteer.held.get(a.job) ?? 1) - 1;
  if (held > 0) a.volunteer.held.set(a.job, held);
  else a.volunteer.held.delete(a.job);
  // A validated job counts leased tasks itself: a task may have several replicas in flight.
  if (!a.job.validation) a.job.counts.leased--;
  core.journal.attemptEnded(a, end, error, core.clock.now());
}

/**
 * [E1] The task's one final state here: its write goes to the store, whose receipt says whether it took
 * effect (K4) and whether the job is complete (K5). The job's durable counts move with that receipt.
 */
export function finish(core: LeaseCore, job: JobState, line: ResultLine, attempt: Attempt | null): void {
  const i = line.index;
  job.state[i] = line.status === 'done' ? TaskState.done : TaskState.failed;
  job.inputs[i] = undefined;
  core.journal.finished(job, line, attempt);
}

function requeue(core: LeaseCore, job: JobState, index: number): void {
  job.state[index] = TaskState.queued;
  job.counts.queued++;
  job.requeues++;
  job.retry.push(index);
  core.journal.requeued(job, index);
}

/** [L2] A result from `v` for its live attempt `id` finishes the task; anything else is ignored. */
export function complete(core: LeaseCore, v: VolunteerState, id: string, output: unknown): Outcome {
  const a = liveAttempt(v, id);
  if (!a) return 'stale';
  endAttempt(core, a, AttemptEnd.done);
  v.tasksDone++;
  // [V7] A validated job takes it as a vote; it is final only once its quorum says so.
  if (a.job.validation) a.job.validation.outcome(a, true, output, null);
  else finish(core, a.job, { index: a.index, status: 'done', output }, a);
  return 'accepted';
}

/** [T2] A failed attempt: retried until maxAttempts failures, then the task fails with the last error. */
function failAttempt(core: LeaseCore, a: Attempt, error: string): void {
  const { job, index } = a;
  // [V11] A failure is a vote too: one volunteer cannot fail a validated task on its own.
  if (job.validation) return job.validation.outcome(a, false, null, error);
  job.failures[index] = Math.min(255, job.failures[index]! + 1);
  job.lastError.set(index, error);
  if (job.failures[index]! >= job.spec.maxAttempts) finish(core, job, { index, status: 'failed', error }, a);
  else requeue(core, job, index);
}

/** [T2] `v` reports that its live attempt `id` threw. */
export function fail(core: LeaseCore, v: VolunteerState, id: string, error: string): Outcome {
  const a = liveAttempt(v, id);
  if (!a) return 'stale';
  endAttempt(core, a, AttemptEnd.failed, error);
  failAttempt(core, a, error);
  return 'accepted';
}

/** [L4] Attempts past their deadline count as failed attempts. Returns them so their holders can be told. */
export function expire(core: LeaseCore): Attempt[] {
  const now = core.clock.now();
  const expired: Attempt[] = [];
  for (const a of core.attempts.values()) if (a.deadline <= now) expired.push(a);
  for (const a of expired) {
    const error = `timed out: no result within ${a.job.spec.timeoutMs} ms`;
    endAttempt(core, a, AttemptEnd.expired, error);
    failAttempt(core, a, error);
  }
  return expired;
}

/**
 * [L5] `v` is gone (socket closed or heartbeat lapsed): its leases go back to the queue at once. Leaving is
 * normal and is not a failure, but [T3] a task lost `maxLosses` times fails, since it probably kills tabs.
 */
export function lose(core: LeaseCore, v: VolunteerState): Attempt[] {
  const lost = [...v.attempts.values()];
  for (const a of lost) {
    endAttempt(core, a, AttemptEnd.lost);
    const { job, index } = a;
    if (job.isFinished()) continue;
    if (a.check) {
      job.validation!.gone(a);
      continue;
    }
    job.losses[index] = Math.min(255, job.losses[index]! + 1);
    const error = `lost its volunteer ${job.losses[index]} times (the task may crash or freeze its host)`;
    if (job.validation) {
      // [V11] A loss is a failure: one identity dropping its socket on purpose cannot fail the task.
      if (job.validation.lost(a, job.losses[index]!, job.spec.maxLosses, error)) job.lastError.set(index, error);
    } else if (job.losses[index]! >= job.spec.maxLosses) {
      job.lastError.set(index, error);
      finish(core, job, { index, status: 'failed', error }, null);
    } else requeue(core, job, index);
  }
  v.credits = 0;
  return lost;
}

/** [L6] `v` hands back leases it will not run: requeued, counted neither as failure nor as loss. */
export function release(core: LeaseCore, v: VolunteerState, ids: readonly string[]): number {
  let n = 0;
  for (const id of ids) {
    const a = liveAttempt(v, id);
    if (!a) continue;
    endAttempt(core, a, AttemptEnd.released);
    if (a.job.validation) {
      if (!a.job.isFinished()) a.job.validation.gone(a);
    } else if (a.job.status !== 'cancelled') requeue(core, a.job, a.index);
    n++;
  }
  return n;
}

/** [J3] Cancel a job: nothing more is leased and its live attempts end. Returns them for abort messages. */
export function cancel(core: LeaseCore, job: JobState): Attempt[] {
  if (job.isFinished()) return [];
  const live = [...core.attempts.values()].filter((a) => a.job === job);
  for (const a of live) endAttempt(core, a, AttemptEnd.cancelled);
  // Nothing of a cancelled job is this master's any more: its claims went with the cancel (J3, K1).
  job.counts.queued = 0;
  job.counts.leased = 0;
  job.validation?.close();
  job.status = 'cancelled';
  job.finishedAt = core.clock.now();
  core.queue.remove(job);
  core.journal.touched(job);
  return live;
}

/** Stop attempts whose validated task became final on others' results; returns them for abort messages. */
export function settleAttempts(core: LeaseCore, ids: readonly string[]): Attempt[] {
  const ended: Attempt[] = [];
  for (const id of ids) {
    const a = core.attempts.get(id);
    if (!a) continue;
    endAttempt(core, a, AttemptEnd.settled);
    ended.push(a);
  }
  return ended;
}
