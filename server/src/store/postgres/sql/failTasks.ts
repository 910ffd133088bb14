/** [E1][T2] Make tasks failed with their last error; guarded by `state = 0` as completeTasks is. */
import type { Queryable } from '../connect.ts';
import type { WriteColumns } from '../batch.ts';
import type { TaskKeyRow } from './completeTasks.ts';

export async function failTasks(db: Queryable, w: WriteColumns): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.failTasks',
    text: `UPDATE tasks AS t
           SET state = 3, error = w.error, failures = w.failures, losses = w.losses
           FROM unnest($1::int[], $2::int[], $3::text[], $4::smallint[], $5::smallint[]) AS w(job_seq, idx, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0
           RETURNING t.job_seq, t.idx`,
    values: [w.jobSeqs, w.indexes, w.errors, w.failures, w.losses],
  });
  return rows;
}
