/**
 * [K1][K3] Claims: a master takes pending tasks nobody holds, in batches, and gives them back. Each is one
 * statement. A claim skips rows another transaction has locked (SKIP LOCKED, as graphile-worker and Oban
 * take jobs), so masters claiming at once never wait on each other and never get the same task.
 */
import type { Queryable } from '../connect.ts';

export interface ClaimRow {
  /** The job is validated: its tasks come with their votes (read separately). */
  validated: boolean;
  idx: number;
  input: string;
  failures: number;
  losses: number;
  error: string | null;
}

/**
 * Claim up to `n` of a job's pending, unheld tasks, lowest index first, for (master, gen). Two scans, so that
 * neither steps over the dead index entries every claimed task leaves behind: the tasks given back below
 * `from` (a small index of their own), then the rest from `from` on (from 0 it is one plain scan). Only while
 * the job is queued or running: its row is read FOR KEY SHARE, which commits do not wait for (they lock it
 * FOR NO KEY UPDATE) but a cancel does (FOR UPDATE), so no claim lands after a cancel has freed the job's.
 * Rows come back in no particular order. (The update looks its rows up by key, `idx = ANY(ARRAY(...))`,
 * whatever the planner guesses the scans return: joined to them, it once hashed the whole table.)
 */
export async function claimTasks(db: Queryable, jobSeq: number, master: string, gen: number, n: number, from: number): Promise<ClaimRow[]> {
  const { rows } = await db.query<ClaimRow>({
    name: 'barnraise.claimTasks',
    text: `WITH job AS MATERIALIZED (
             SELECT seq, validation IS NOT NULL AS validated FROM jobs WHERE seq = $1 AND status IN ('queued', 'running') FOR KEY SHARE
           ),
           returned AS MATERIALIZED (
             SELECT t.idx FROM tasks t
             WHERE t.job_seq = (SELECT seq FROM job) AND t.state = 0 AND t.owner IS NULL AND t.gen IS NOT NULL AND t.idx < $5
             ORDER BY t.idx LIMIT $4
             FOR UPDATE SKIP LOCKED
           ),
           rest AS MATERIALIZED (
             SELECT t.idx FROM tasks t
             WHERE t.job_seq = (SELECT seq FROM job) AND t.state = 0 AND t.owner IS NULL AND t.idx >= $5
             ORDER BY t.idx LIMIT $4 - (SELECT count(*) FROM returned)
             FOR UPDATE SKIP LOCKED
           )
           UPDATE tasks AS t SET owner = $2, gen = $3
           WHERE t.job_seq = $1 AND t.idx = ANY (ARRAY(SELECT idx FROM returned UNION ALL SELECT idx FROM rest))
           RETURNING (SELECT validated FROM job), t.idx, t.input, t.failures, t.losses, t.error`,
    values: [jobSeq, master, gen, n, from],
  });
  return rows;
}

// A claim given back keeps its gen: that marks the task as returned (tasks_returned) for the next claim.

/** Give back (master, gen)'s claims on these tasks of a job; returns how many it held. */
export async function releaseTasks(db: Queryable, jobSeq: number, indexes: number[], master: string, gen: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'barnraise.releaseTasks',
    text: 'UPDATE tasks SET owner = NULL WHERE job_seq = $1 AND idx = ANY($2::int[]) AND owner IS NOT DISTINCT FROM $3 AND gen IS NOT DISTINCT FROM $4',
    values: [jobSeq, indexes, master, gen],
  });
  return rowCount ?? 0;
}

/** Give back every claim of `master`, or those of its generations before `beforeGen`. */
export async function releaseClaims(db: Queryable, master: string, beforeGen: number | null): Promise<number> {
  const { rowCount } = await db.query({
    name: 'barnraise.releaseClaims',
    text: 'UPDATE tasks SET owner = NULL WHERE owner = $1 AND ($2::int IS NULL OR gen < $2)',
    values: [master, beforeGen],
  });
  return rowCount ?? 0;
}
