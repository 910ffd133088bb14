/**
 * [J4] Retry a job's failed tasks: they go back to pending, unclaimed and unnumbered, with their failure
 * counts cleared, marked as returned (gen 0, see sql/claims.ts) so that the next claims find them; and the
 * job back to running with its failed counter lowered by as many (an increment). The job row is locked
 * before the task rows, as a commit locks them.
 */
import type { Queryable } from '../connect.ts';

/** Failed tasks of the job back to pending; returns how many. Call with the job row locked (lockJobs). */
export async function resetFailedTasks(db: Queryable, jobSeq: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'barnraise.resetFailedTasks',
    text: 'UPDATE tasks SET state = 0, failures = 0, error = NULL, fin = NULL, owner = NULL, gen = 0 WHERE job_seq = $1 AND state = 3',
    values: [jobSeq],
  });
  return rowCount ?? 0;
}

/** The job runs again, with `reset` fewer failed tasks. */
export async function reopenJob(db: Queryable, jobSeq: number, reset: number): Promise<void> {
  await db.query({
    name: 'barnraise.reopenJob',
    text: "UPDATE jobs SET status = 'running', failed = failed - $2, finished_at = NULL WHERE seq = $1",
    values: [jobSeq, reset],
  });
}
