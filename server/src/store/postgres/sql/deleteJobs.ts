/**
 * [D4] Retention: finished jobs older than a cutoff go, with their tasks, attempts, replicas and
 * known answers. Plain DELETEs leave
 * dead rows for autovacuum; a table partitioned by job (DROP instead of DELETE) is for later.
 */
import type { Queryable } from '../connect.ts';

/** Delete the rows of jobs that finished before `before` (ms); returns their seq and id. */
export async function deleteFinishedJobs(db: Queryable, before: number): Promise<Array<{ seq: number; id: string }>> {
  const { rows } = await db.query<{ seq: number; id: string }>({
    name: 'barnraise.deleteFinishedJobs',
    text: "DELETE FROM jobs WHERE status IN ('completed', 'cancelled') AND finished_at < $1 RETURNING seq, id",
    values: [before],
  });
  return rows;
}

/** Delete every task of the jobs `seqs`. */
export async function deleteTasksOfJobs(db: Queryable, seqs: number[]): Promise<void> {
  await db.query({ name: 'barnraise.deleteTasksOfJobs', text: 'DELETE FROM tasks WHERE job_seq = ANY($1::int[])', values: [seqs] });
}

/** Delete every attempt row of the jobs `seqs`. */
export async function deleteAttemptsOfJobs(db: Queryable, seqs: number[]): Promise<void> {
  await db.query({ name: 'barnraise.deleteAttemptsOfJobs', text: 'DELETE FROM attempts WHERE job_seq = ANY($1::int[])', values: [seqs] });
}

/** Delete every replica row of the jobs `seqs`. */
export async function deleteReplicasOfJobs(db: Queryable, seqs: number[]): Promise<void> {
  await db.query({ name: 'barnraise.deleteReplicasOfJobs', text: 'DELETE FROM replicas WHERE job_seq = ANY($1::int[])', values: [seqs] });
}

/** Delete the known answers of the jobs `seqs`. */
export async function deleteChecksOfJobs(db: Queryable, seqs: number[]): Promise<void> {
  await db.query({ name: 'barnraise.deleteChecksOfJobs', text: 'DELETE FROM checks WHERE job_seq = ANY($1::int[])', values: [seqs] });
}
