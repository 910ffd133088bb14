/**
 * [J4] Retry a job's failed tasks: they go back to pending, unclaimed, with their failure counts cleared,
 * marked as returned (gen 0, see sql/claims.ts) so that the next claims find them, and their places in the
 * job's runs of final tasks marked stale (K6: each is numbered again when it is final again); and the job
 * back to running with its failed counter lowered by as many (an increment). The job row is locked before
 * the task rows, as a commit holds it.
 */
import type { Queryable } from '../connect.ts';
import { STALE_ENTRY } from './finals.ts';

/**
 * Failed tasks of the job back to pending; returns how many. Call with the job row locked (lockJobs). The
 * runs are rewritten by a hash join of every entry of the job's runs with the reset tasks: one pass over the
 * job's finals, as rare as an operator's retry.
 */
export async function resetFailedTasks(db: Queryable, jobSeq: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'barnraise.resetFailedTasks',
    text: `WITH reset AS (
             UPDATE tasks SET state = 0, failures = 0, error = NULL, owner = NULL, gen = 0 WHERE job_seq = $1 AND state = 3 RETURNING idx
           ),
           marked AS (
             SELECT f.lo, array_agg(CASE WHEN r.idx IS NULL THEN e.idx ELSE ${STALE_ENTRY} END ORDER BY e.n) AS idxs
             FROM finals f CROSS JOIN LATERAL unnest(f.idxs) WITH ORDINALITY AS e(idx, n) LEFT JOIN reset r ON r.idx = e.idx
             WHERE f.job_seq = $1
             GROUP BY f.lo
             HAVING bool_or(r.idx IS NOT NULL)
           ),
           rewritten AS (
             UPDATE finals f SET idxs = m.idxs FROM marked m WHERE f.job_seq = $1 AND f.lo = m.lo
           )
           SELECT count(*)::int AS n FROM reset`,
    values: [jobSeq],
  });
  return rows[0]?.n ?? 0;
}

/** The job runs again, with `reset` fewer failed tasks. */
export async function reopenJob(db: Queryable, jobSeq: number, reset: number): Promise<void> {
  await db.query({
    name: 'barnraise.reopenJob',
    text: "UPDATE jobs SET status = 'running', failed = failed - $2, finished_at = NULL WHERE seq = $1",
    values: [jobSeq, reset],
  });
}
