/**
 * Add to jobs' counters. `done` and `failed` are the task rows this transaction made final (counted from
 * completeTasks/failTasks RETURNING), `requeues` the requeues this master counted since its last commit:
 * increments only, so commits of two masters add up instead of overwriting each other.
 */
import type { Queryable } from '../connect.ts';

export interface JobCounts {
  seqs: number[];
  done: number[];
  failed: number[];
  requeues: number[];
  replicas: number[];
  inconclusive: number[];
}

export async function addJobCounts(db: Queryable, c: JobCounts): Promise<void> {
  await db.query({
    name: 'barnraise.addJobCounts',
    text: `UPDATE jobs AS j
           SET done = j.done + c.done, failed = j.failed + c.failed, requeues = j.requeues + c.requeues,
               replicas = j.replicas + c.replicas, inconclusive = j.inconclusive + c.inconclusive
           FROM unnest($1::int[], $2::int[], $3::int[], $4::bigint[], $5::bigint[], $6::int[]) AS c(seq, done, failed, requeues, replicas, inconclusive)
           WHERE j.seq = c.seq`,
    values: [c.seqs, c.done, c.failed, c.requeues, c.replicas, c.inconclusive],
  });
}
