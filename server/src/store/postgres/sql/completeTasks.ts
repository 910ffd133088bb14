/**
 * [E1] Make tasks done. Guarded by `state = 0`: a task already final is not touched, so a second final
 * write is refused; the rows returned are the writes that took effect.
 */
import type { Queryable } from '../connect.ts';
import type { WriteColumns } from '../batch.ts';

export interface TaskKeyRow {
  job_seq: number;
  idx: number;
}

export async function completeTasks(db: Queryable, w: WriteColumns): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.completeTasks',
    text: `UPDATE tasks AS t
           SET state = 2, output = w.output, error = COALESCE(w.error, t.error), failures = w.failures, losses = w.losses
           FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::smallint[], $6::smallint[]) AS w(job_seq, idx, output, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0
           RETURNING t.job_seq, t.idx`,
    values: [w.jobSeqs, w.indexes, w.outputs, w.errors, w.failures, w.losses],
  });
  return rows;
}
