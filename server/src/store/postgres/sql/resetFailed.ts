/**
 * [J4] Retry a job's failed tasks: they go back to pending with their failure counts cleared, and the job
 * back to running with its failed counter lowered by as many (an increment, as every counter change).
 */
import type { Queryable } from '../connect.ts';

export interface ResetRow {
  idx: number;
  input: string;
  losses: number;
}

/** Failed tasks of the job back to pending; returns them (in no particular order). */
export async function resetFailedTasks(db: Queryable, jobSeq: number): Promise<ResetRow[]> {
  const { rows } = await db.query<ResetRow>({
    name: 'barnraise.resetFailedTasks',
    text: 'UPDATE tasks SET state = 0, failures = 0, error = NULL WHERE job_seq = $1 AND state = 3 RETURNING idx, input, losses',
    values: [jobSeq],
  });
  return rows;
}

/** The job runs again, with `reset` fewer failed tasks. */
export async function reopenJob(db: Queryable, jobSeq: number, reset: number): Promise<void> {
  await db.query({
    name: 'barnraise.reopenJob',
    text: "UPDATE jobs SET status = 'running', failed = failed - $2, finished_at = NULL WHERE seq = $1",
    values: [jobSeq, reset],
  });
}
