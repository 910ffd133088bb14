/**
 * A commit's task writes, each kind one statement for the whole batch, each guarded in its WHERE clause: a
 * task is written only while pending (E1) and, when the batch has an owner, only if that owner holds it in
 * that generation (K4).
 *
 * The fence reads `owner IS NOT DISTINCT FROM $master` rather than `owner = $master` on purpose: the same
 * test for a non-null master, but one no index serves, so every write is a key lookup. With `=`, a table
 * analyzed before its first claim (every owner null) makes the (owner, gen) index look like it finds one
 * row, and the planner scanned all of a master's claims for each of 2,000 writes: 3 s for one commit.
 */
import type { Queryable } from '../connect.ts';
import { intArray, textArray } from '../arrays.ts';
import { heldBy } from './claims.ts';
import type { WriteColumns } from '../batch.ts';

export interface TaskKeyRow {
  job_seq: number;
  idx: number;
}

/**
 * What a batch of final writes did: per job, how many tasks became done and failed; and the writes that did
 * not take effect (the guard refused them), by key. Counted in the database, so that the usual batch (every
 * write applied) comes back as a few rows rather than one row a task for the master to parse.
 */
export interface FinalSummary {
  counts: Array<{ job_seq: number; done: number; failed: number }>;
  missed: TaskKeyRow[];
}

/** Fence: the master and generation a write must hold the task under, or null for an unfenced batch. */
export interface Fence {
  master: string | null;
  gen: number | null;
}

/**
 * [E1][K4] Make tasks final (done or failed): one UPDATE for the batch, guarded in its WHERE clause, each
 * write with its claim cleared and (done, D6) the attempt that made it so. Their order (K6) is written
 * after, under the job's lock, once the writes the guard refused are known (fins.ts, closeJobs in jobs.ts). No
 * indexed column changes for a task claimed in a range, so with room on its page this is a HOT update.
 * The rows were locked first in an earlier version, a key lookup and a row lock each before the update:
 * half of what the database spent on a result (docs/postgres.md).
 *
 * The statement counts what it made final; only when that is short of the batch (the guard refused some,
 * seldom) does a second statement name the refused writes. Found in the same statement, by an anti-join of
 * the batch with the rows updated, they cost every commit about 2 µs a write (10.5-13.3 against 8.9-11.0 µs
 * a row on 200,000 rows in psql; docs/postgres.md).
 */
export async function finishTasks(db: Queryable, w: WriteColumns, fence: Fence): Promise<FinalSummary> {
  const { rows } = await db.query<{ job_seq: number; done: number; failed: number }>({
    name: 'barnraise.finishTasks',
    text: `WITH done AS (
             UPDATE tasks AS t
             SET state = w.state, output = w.output, error = COALESCE(w.error, t.error), failures = w.failures, losses = w.losses,
                 owner = NULL, gen = NULL, attempt = w.attempt, volunteer = w.volunteer, leased_at = w.leased_at, ended_at = w.ended_at
             FROM unnest($1::int[], $2::int[], $3::smallint[], $4::text[], $5::text[], $6::smallint[], $7::smallint[],
                         $10::text[], $11::text[], $12::bigint[], $13::bigint[])
               AS w(job_seq, idx, state, output, error, failures, losses, attempt, volunteer, leased_at, ended_at)
             WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0 AND ${heldBy('t', '$8', '$9')}
             RETURNING t.job_seq, t.state
           )
           SELECT job_seq, count(*) FILTER (WHERE state = 2)::int AS done, count(*) FILTER (WHERE state = 3)::int AS failed
           FROM done GROUP BY job_seq`,
    values: [
      intArray(w.jobSeqs), intArray(w.indexes), intArray(w.states), textArray(w.outputs), textArray(w.errors), intArray(w.failures), intArray(w.losses),
      fence.master, fence.gen, textArray(w.attempts), textArray(w.volunteers), intArray(w.leasedAts), intArray(w.endedAts),
    ],
  });
  const summary: FinalSummary = { counts: rows, missed: [] };
  let made = 0;
  for (const r of rows) made += r.done + r.failed;
  if (made < w.jobSeqs.length) summary.missed = await refusedWrites(db, w);
  return summary;
}

/**
 * The writes of `w` that finishTasks did not make: rows this transaction has not changed (their xmin is not
 * its id). Only finishTasks and retryTasks change task rows in a commit, and never the same key (a batch
 * holds one write a task), so a row of `w` changed in this transaction is one finishTasks made final.
 */
async function refusedWrites(db: Queryable, w: WriteColumns): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.refusedWrites',
    text: `SELECT w.job_seq, w.idx FROM unnest($1::int[], $2::int[]) AS w(job_seq, idx)
           WHERE NOT EXISTS (SELECT FROM tasks t WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.xmin = pg_current_xact_id()::xid)`,
    values: [intArray(w.jobSeqs), intArray(w.indexes)],
  });
  return rows;
}

/** [T2][L5] A task went back to the queue: its counts and last error, written only while pending and held. */
export async function retryTasks(db: Queryable, w: WriteColumns, fence: Fence): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.retryTasks',
    text: `UPDATE tasks AS t
           SET failures = w.failures, losses = w.losses, error = w.error
           FROM unnest($1::int[], $2::int[], $3::text[], $4::smallint[], $5::smallint[]) AS w(job_seq, idx, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0 AND ${heldBy('t', '$6', '$7')}
           RETURNING t.job_seq, t.idx`,
    values: [intArray(w.jobSeqs), intArray(w.indexes), textArray(w.errors), intArray(w.failures), intArray(w.losses), fence.master, fence.gen],
  });
  return rows;
}
