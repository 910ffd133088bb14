/**
 * [K5] A commit's job rows: locked first (every writer of a job row takes it before any task row of the
 * job, in seq order, so commits of several masters queue on it instead of deadlocking), then changed by
 * increments and the status they imply.
 */
import type { Queryable } from '../connect.ts';
import { releaseJob } from './claims.ts';
import { COUNTER_COLUMNS, type CounterRow } from '../rows.ts';
import { intArray, textArray } from '../arrays.ts';
import type { FinalRun } from '../fins.ts';

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

/** What one commit adds to each job it touches (K5): counters, and the earliest lease of the job it saw. */
export interface JobChanges {
  seqs: number[];
  done: number[];
  failed: number[];
  requeues: number[];
  replicas: number[];
  inconclusive: number[];
  startedAt: (number | null)[];
}

/** A job row after a commit, as closeJobs returns it. */
export type ClosedJob = CounterRow;

/**
 * [K5][K6] The end of a commit, in one statement so that its job row locks are held for one round trip and
 * the COMMIT (three round trips before: lock, number, update): lock the job rows in seq order (FOR NO KEY
 * UPDATE; commits of several masters on one job queue here, claims go on), add `c` to each by increments
 * with the status they imply (queued -> running -> completed, never out of completed or cancelled; a job
 * completes in the commit of its last final task), and write its runs of final tasks (`runs`, numbered
 * from 0 here) on from the job's `fin` as locked. UPDATE re-reads a row another commit changed while this
 * one waited for it, so every expression sees the row as locked. A job deleted since the batch named it is
 * not in the result and gets no run. Returns the rows as they are now.
 */
export async function closeJobs(db: Queryable, c: JobChanges, runs: readonly FinalRun[], at: number): Promise<ClosedJob[]> {
  const total = 'j.done + d.done + j.failed + d.failed >= j.total';
  const live = "j.status IN ('queued', 'running')";
  const { rows } = await db.query<ClosedJob>({
    name: 'barnraise.closeJobs',
    text: `WITH l AS (SELECT seq FROM jobs WHERE seq = ANY($1::int[]) ORDER BY seq FOR NO KEY UPDATE),
           u AS (
             UPDATE jobs AS j
             SET done = j.done + d.done, failed = j.failed + d.failed, fin = j.fin + d.done + d.failed, requeues = j.requeues + d.requeues,
                 replicas = j.replicas + d.replicas, inconclusive = j.inconclusive + d.inconclusive,
                 status = CASE WHEN NOT (${live}) THEN j.status
                               WHEN ${total} THEN 'completed'
                               WHEN d.started_at IS NOT NULL OR j.status = 'running' OR d.done + d.failed > 0 THEN 'running'
                               ELSE j.status END,
                 started_at = CASE WHEN j.started_at IS NOT NULL THEN j.started_at
                                   WHEN j.status = 'queued' AND NOT (${total}) AND d.started_at IS NULL AND d.done + d.failed = 0 THEN NULL
                                   ELSE coalesce(d.started_at, $8::bigint) END,
                 finished_at = CASE WHEN ${live} AND ${total} THEN $8::bigint ELSE j.finished_at END
             FROM unnest($1::int[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[])
                    AS d(seq, done, failed, requeues, replicas, inconclusive, started_at)
               JOIN l ON l.seq = d.seq
             WHERE j.seq = d.seq
             RETURNING j.seq, ${COUNTER_COLUMNS.split(', ').map((col) => `j.${col}`).join(', ')}, j.fin - d.done - d.failed AS base
           ),
           f AS (
             INSERT INTO finals (job_seq, lo, idxs)
             SELECT r.seq, u.base + r.off, r.idxs::int[]
             FROM unnest($9::int[], $10::bigint[], $11::text[]) AS r(seq, off, idxs) JOIN u ON u.seq = r.seq
           )
           SELECT ${COUNTER_COLUMNS.split(', ').join(', ')}, seq FROM u`,
    values: [
      intArray(c.seqs),
      intArray(c.done),
      intArray(c.failed),
      intArray(c.requeues),
      intArray(c.replicas),
      intArray(c.inconclusive),
      intArray(c.startedAt),
      at,
      intArray(runs.map((r) => r.jobSeq)),
      intArray(runs.map((r) => r.lo)),
      textArray(runs.map((r) => intArray(r.idxs))),
    ],
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
