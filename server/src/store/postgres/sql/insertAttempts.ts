/**
 * Ended attempts, for each task's history. Attempt ids are unique, so a commit retried after an ambiguous
 * failure (it may have landed) adds no second row.
 */
import { intArray, textArray } from '../arrays.ts';
import type { Queryable } from '../connect.ts';

export interface AttemptColumns {
  jobSeqs: number[];
  indexes: number[];
  attempts: string[];
  volunteers: string[];
  leasedAt: number[];
  endedAt: number[];
  outcomes: string[];
  errors: (string | null)[];
}

export async function insertAttempts(db: Queryable, a: AttemptColumns): Promise<void> {
  await db.query({
    name: 'barnraise.insertAttempts',
    text: `INSERT INTO attempts (job_seq, idx, attempt, volunteer, leased_at, ended_at, outcome, error)
           SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
           ON CONFLICT DO NOTHING`,
    values: [intArray(a.jobSeqs), intArray(a.indexes), textArray(a.attempts), textArray(a.volunteers), intArray(a.leasedAt), intArray(a.endedAt), textArray(a.outcomes), textArray(a.errors)],
  });
}
