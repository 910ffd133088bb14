/**
 * [K5] A commit's job rows: locked first (every writer of a job row takes it before any task row of the
 * job, in seq order, so commits of several masters queue on it instead of deadlocking), then changed by
 * increments and the status they imply.
 */
import type { Queryable } from '../connect.ts';
import { releaseJob } from './claims.ts';
import { COUNTER_COLUMNS, type CounterRow } from '../rows.ts';

/** A job row as a commit sees it under its lock. */
export interface LockedJob {
  seq: number;
  status: string;
  total: number;
  done: number;
  failed: number;
  fin: string | number;
  started_at: string | number | null;
  finished_at: string | number | null;
}

/**
 * Lock the job rows `seqs` for this transaction (FOR NO KEY UPDATE: claims, which take FOR KEY SHARE, go
 * on meanwhile; a cancel, which takes FOR UPDATE, waits) and read them as they are now.
 */
export async function lockJobs(db: Queryable, seqs: number[]): Promise<LockedJob[]> {
  const { rows } = await db.query<LockedJob>({
    name: 'barnraise.lockJobs',
    text: `SELECT seq, status, total, done, failed, fin, started_at, finished_at FROM jobs WHERE seq = ANY($1::int[]) ORDER BY seq FOR NO KEY UPDATE`,
    values: [seqs],
  });
  return rows;
}

/**
 * Hold the job rows `seqs` FOR KEY SHARE for this transaction, before a commit's task writes: other commits
 * (FOR KEY SHARE, then FOR NO KEY UPDATE) and claims go on, while a cancel (FOR UPDATE, then the job's task
 * rows) waits for this commit or this commit for it. Without it a cancel holding the job could wait on task
 * rows this commit wrote while this commit waited on the job: a deadlock.
 */
export async function shareJobs(db: Queryable, seqs: number[]): Promise<void> {
  await db.query({ name: 'barnraise.shareJobs', text: 'SELECT seq FROM jobs WHERE seq = ANY($1::int[]) ORDER BY seq FOR KEY SHARE', values: [seqs] });
}

/** What one commit changes in one job row: counters to add, and the status and times its caller computed under the lock. */
export interface JobChanges {
  seqs: number[];
  done: number[];
  failed: number[];
  requeues: number[];
  replicas: number[];
  inconclusive: number[];
  statuses: string[];
  startedAt: (number | null)[];
  finishedAt: (number | null)[];
}

/** Apply `c` to locked job rows; returns them as they are now. `fin` moves by the tasks made final. */
export async function updateJobs(db: Queryable, c: JobChanges): Promise<CounterRow[]> {
  const { rows } = await db.query<CounterRow>({
    name: 'barnraise.updateJobs',
    text: `UPDATE jobs AS j
           SET done = j.done + d.done, failed = j.failed + d.failed, fin = j.fin + d.done + d.failed, requeues = j.requeues + d.requeues,
               replicas = j.replicas + d.replicas, inconclusive = j.inconclusive + d.inconclusive,
               status = d.status, started_at = d.started_at, finished_at = d.finished_at
           FROM unnest($1::int[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::int[], $7::text[], $8::bigint[], $9::bigint[])
             AS d(seq, done, failed, requeues, replicas, inconclusive, status, started_at, finished_at)
           WHERE j.seq = d.seq
           RETURNING j.seq, ${COUNTER_COLUMNS.split(', ').map((c) => `j.${c}`).join(', ')}`,
    values: [c.seqs, c.done, c.failed, c.requeues, c.replicas, c.inconclusive, c.statuses, c.startedAt, c.finishedAt],
  });
  return rows;
}

/**
 * [J3] Cancel a queued or running job and free its claims. The job row is locked FOR UPDATE first: that
 * waits for claims in flight (FOR KEY SHARE) and makes later ones find the job cancelled, so no claim
 * outlives the cancel. Returns the row as it is after (unchanged when the job was finished already).
 */
export async function cancelJob(db: Queryable, seq: number, at: number): Promise<CounterRow | undefined> {
  const { rows } = await db.query<{ status: string }>({ name: 'barnraise.lockJobForCancel', text: 'SELECT status FROM jobs WHERE seq = $1 FOR UPDATE', values: [seq] });
  const status = rows[0]?.status;
  if (status === undefined) return undefined;
  if (status === 'queued' || status === 'running') {
    // Its claims first, while the job still reads as running: a range is freed only for a live job.
    await releaseJob(db, seq);
    await db.query({ name: 'barnraise.cancelJob', text: "UPDATE jobs SET status = 'cancelled', finished_at = $2 WHERE seq = $1", values: [seq, at] });
  }
  const after = await db.query<CounterRow>({ name: 'barnraise.jobCounters', text: `SELECT seq, ${COUNTER_COLUMNS} FROM jobs WHERE seq = $1`, values: [seq] });
  return after.rows[0];
}
