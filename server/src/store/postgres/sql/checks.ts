/** [V4] The known answers an operator gave with a job, kept for recovery. */
import type { Queryable } from '../connect.ts';
import type { StoredCheck } from '../../store.ts';

/** Insert a job's known answers, numbered in the order given. */
export async function insertChecks(db: Queryable, jobSeq: number, checks: readonly StoredCheck[]): Promise<void> {
  await db.query({
    name: 'barnraise.insertChecks',
    text: `INSERT INTO checks (job_seq, k, idx, input, output)
           SELECT $1, k - 1, idx, input, output FROM unnest($2::int[], $3::text[], $4::text[]) WITH ORDINALITY AS c(idx, input, output, k)`,
    values: [jobSeq, checks.map((c) => c.index ?? null), checks.map((c) => JSON.stringify(c.input ?? null)), checks.map((c) => JSON.stringify(c.output ?? null))],
  });
}

export interface CheckRow {
  idx: number | null;
  input: string;
  output: string;
}

/** A job's known answers in the order given. */
export async function checksOf(db: Queryable, jobSeq: number): Promise<CheckRow[]> {
  const { rows } = await db.query<CheckRow>({ name: 'barnraise.checksOf', text: 'SELECT idx, input, output FROM checks WHERE job_seq = $1 ORDER BY k', values: [jobSeq] });
  return rows;
}
