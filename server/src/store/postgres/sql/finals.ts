/**
 * [K6] Each job's final tasks in commit order (migrations/009_finals.sql): a commit adds one run per job, and a
 * follower reads runs on from its place (reads.ts). A failed task retried (J4) leaves its old place marked.
 */
import { intArray } from '../arrays.ts';
import type { Queryable } from '../connect.ts';
import type { FinalRun } from '../fins.ts';

/** A job's index in a run that no longer stands for a final task. No task has it. */
export const STALE_ENTRY = -1;

/** Record a commit's runs. Usually one job a commit: a statement each keeps every run one array parameter. */
export async function insertFinals(db: Queryable, runs: readonly FinalRun[]): Promise<void> {
  for (const run of runs) {
    await db.query({
      name: 'barnraise.insertFinals',
      text: 'INSERT INTO finals (job_seq, lo, idxs) VALUES ($1, $2, $3::int[])',
      values: [run.jobSeq, run.lo, intArray(run.idxs)],
    });
  }
}
