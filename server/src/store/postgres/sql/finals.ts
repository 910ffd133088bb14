/**
 * [K6] Each job's final tasks in commit order (migrations/009_finals.sql): a commit adds one run per job, and a
 * follower reads runs on from its place.
 */
import { intArray } from '../arrays.ts';
import type { Queryable } from '../connect.ts';
import type { FinalsPlan } from '../fins.ts';

/** Record a commit's runs, and the numbers of tasks that moved down past a refused write (fins.ts). */
export async function writeFinals(db: Queryable, plan: FinalsPlan): Promise<void> {
  const r = plan.renumbered;
  if (r.jobSeqs.length > 0) {
    await db.query({
      name: 'barnraise.renumberFins',
      text: `UPDATE tasks AS t SET fin = r.fin FROM unnest($1::int[], $2::int[], $3::bigint[]) AS r(job_seq, idx, fin)
             WHERE t.job_seq = r.job_seq AND t.idx = r.idx`,
      values: [intArray(r.jobSeqs), intArray(r.indexes), intArray(r.fins)],
    });
  }
  // Usually one job a commit: a statement each keeps every run's indices one array parameter.
  for (const run of plan.runs) {
    await db.query({
      name: 'barnraise.insertFinals',
      text: 'INSERT INTO finals (job_seq, lo, idxs) VALUES ($1, $2, $3::int[])',
      values: [run.jobSeq, run.lo, intArray(run.idxs)],
    });
  }
}
