/**
 * [T2][L5] A task went back to the queue: its failure and loss counts and last error, written only while
 * it is pending (a retry arriving after the task became final changes nothing).
 */
import type { Queryable } from '../connect.ts';
import type { WriteColumns } from '../batch.ts';
import type { TaskKeyRow } from './completeTasks.ts';

export async function retryTasks(db: Queryable, w: WriteColumns): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.retryTasks',
    text: `UPDATE tasks AS t
           SET failures = w.failures, losses = w.losses, error = w.error
           FROM unnest($1::int[], $2::int[], $3::text[], $4::smallint[], $5::smallint[]) AS w(job_seq, idx, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0
           RETURNING t.job_seq, t.idx`,
    values: [w.jobSeqs, w.indexes, w.errors, w.failures, w.losses],
  });
  return rows;
}
