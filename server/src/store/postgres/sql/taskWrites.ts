/**
 * A commit's task writes, each kind one statement for the whole batch, each guarded in its WHERE clause: a
 * task is written only while pending (E1) and, when the batch has an owner, only if that owner holds it in
 * that generation (K4).
 *
 * The fence reads `owner IS NOT DISTINCT FROM $master` rather than `owner = $master` on purpose: the same
 * test for a non-null master, but one no index serves, so every write is a key lookup. With `=`, a table
 * analyzed before its first claim (every owner null) makes the (owner, gen) index look like it finds one
 * row, and the planner scanned all of a master's claims for each of 2,000 writes: 3 s for one commit.
 */
import type { Queryable } from '../connect.ts';
import type { WriteColumns } from '../batch.ts';

export interface TaskKeyRow {
  job_seq: number;
  idx: number;
}

/**
 * What a batch of final writes did: per job, how many tasks became done and failed; and the writes that did
 * not take effect (the guard refused them), by key. Counted in the database, so that the usual batch (every
 * write applied) comes back as a few rows rather than one row a task for the master to parse.
 */
export interface FinalSummary {
  counts: Array<{ job_seq: number; done: number; failed: number }>;
  missed: TaskKeyRow[];
}

/** Fence: the master and generation a write must hold the task under, or null for an unfenced batch. */
export interface Fence {
  master: string | null;
  gen: number | null;
}

/**
 * [E1][K4][K6] Make tasks final (done or failed). The rows that pass the guard are locked first, then
 * numbered in the batch's order from each job's last number (`bases`, read under the job's row lock, which
 * the caller holds until it commits: the numbers are gapless and become visible in order), then written
 * with their claim cleared and (done, D6) the attempt that made them so. The lock is a LATERAL subquery per write: a key lookup each, in the order given
 * (`w` is sorted by key), whatever the planner guesses of the scans' sizes.
 */
export async function finishTasks(db: Queryable, w: WriteColumns, fence: Fence, bases: { seqs: number[]; fins: number[] }): Promise<FinalSummary> {
  const { rows } = await db.query<{ job_seq: number | null; done: number; failed: number; missed_seqs: number[] | null; missed_idx: number[] | null }>({
    name: 'barnraise.finishTasks',
    text: `WITH w AS (
             SELECT * FROM unnest($1::int[], $2::int[], $3::smallint[], $4::int[], $5::text[], $6::text[], $7::smallint[], $8::smallint[],
                                  $13::text[], $14::text[], $15::bigint[], $16::bigint[])
               AS w(job_seq, idx, state, ord, output, error, failures, losses, attempt, volunteer, leased_at, ended_at)
           ),
           hit AS MATERIALIZED (
             SELECT w.* FROM w CROSS JOIN LATERAL (
               SELECT FROM tasks t
               WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0 AND ($9::text IS NULL OR (t.owner IS NOT DISTINCT FROM $9 AND t.gen IS NOT DISTINCT FROM $10))
               FOR UPDATE
             ) AS locked
           ),
           numbered AS (
             SELECT hit.*, b.fin + row_number() OVER (PARTITION BY hit.job_seq ORDER BY hit.ord) AS fin
             FROM hit JOIN unnest($11::int[], $12::bigint[]) AS b(seq, fin) ON b.seq = hit.job_seq
           ),
           done AS (
             UPDATE tasks AS t
             SET state = n.state, output = n.output, error = COALESCE(n.error, t.error), failures = n.failures, losses = n.losses,
                 fin = n.fin, owner = NULL, gen = NULL, attempt = n.attempt, volunteer = n.volunteer, leased_at = n.leased_at, ended_at = n.ended_at
             FROM numbered n
             WHERE t.job_seq = n.job_seq AND t.idx = n.idx
             RETURNING t.job_seq, t.idx, t.state
           )
           SELECT job_seq, count(*) FILTER (WHERE state = 2)::int AS done, count(*) FILTER (WHERE state = 3)::int AS failed, NULL::int[] AS missed_seqs, NULL::int[] AS missed_idx
           FROM done GROUP BY job_seq
           UNION ALL
           SELECT NULL, 0, 0, array_agg(w.job_seq), array_agg(w.idx)
           FROM w WHERE NOT EXISTS (SELECT FROM done d WHERE d.job_seq = w.job_seq AND d.idx = w.idx)
           HAVING count(*) > 0`,
    values: [w.jobSeqs, w.indexes, w.states, w.ords, w.outputs, w.errors, w.failures, w.losses, fence.master, fence.gen, bases.seqs, bases.fins, w.attempts, w.volunteers, w.leasedAts, w.endedAts],
  });
  const summary: FinalSummary = { counts: [], missed: [] };
  for (const r of rows) {
    if (r.job_seq !== null) summary.counts.push({ job_seq: r.job_seq, done: r.done, failed: r.failed });
    else r.missed_seqs!.forEach((seq, k) => summary.missed.push({ job_seq: seq, idx: r.missed_idx![k]! }));
  }
  return summary;
}

/** [T2][L5] A task went back to the queue: its counts and last error, written only while pending and held. */
export async function retryTasks(db: Queryable, w: WriteColumns, fence: Fence): Promise<TaskKeyRow[]> {
  const { rows } = await db.query<TaskKeyRow>({
    name: 'barnraise.retryTasks',
    text: `UPDATE tasks AS t
           SET failures = w.failures, losses = w.losses, error = w.error
           FROM unnest($1::int[], $2::int[], $3::text[], $4::smallint[], $5::smallint[]) AS w(job_seq, idx, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0 AND ($6::text IS NULL OR (t.owner IS NOT DISTINCT FROM $6 AND t.gen IS NOT DISTINCT FROM $7))
           RETURNING t.job_seq, t.idx`,
    values: [w.jobSeqs, w.indexes, w.errors, w.failures, w.losses, fence.master, fence.gen],
  });
  return rows;
}
