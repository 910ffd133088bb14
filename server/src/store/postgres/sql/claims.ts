/**
 * [K1][K3] Claims: a master takes pending tasks nobody holds, in batches, and gives them back. Each is one
 * statement. A job's fresh tasks are claimed as a range (`claims`, migration 8): the next [lo, hi) of its
 * indices from its cursor, one row, no task row touched. Tasks handled one by one before (given back, freed
 * from a dead master's range, reset) are claimed row by row as before: their rows skip rows another
 * transaction has locked (SKIP LOCKED, as graphile-worker and Oban take jobs), so masters claiming at once never
 * wait on each other and never get the same task.
 */
import type { ClaimedTask } from '../../store.ts';
import type { Queryable } from '../connect.ts';

export interface ClaimRow {
  /** The job is validated: its tasks come with their votes (read separately). */
  validated: boolean;
  idx: number;
  input: string;
  failures: number;
  losses: number;
  error: string | null;
}

/**
 * [K4] The fence of a write by (`$master`, `$gen`) on task row `t`, as SQL: unfenced when the master is
 * null; else the row is held by it one by one (gen set, owner it), or its pending index lies in a range of
 * its (gen null): the range with the highest start at or below the index, one index probe.
 */
export function heldBy(t: string, master: string, gen: string): string {
  return `(${master}::text IS NULL
    OR (${t}.gen IS NOT NULL AND ${t}.owner IS NOT DISTINCT FROM ${master} AND ${t}.gen IS NOT DISTINCT FROM ${gen})
    OR (${t}.gen IS NULL AND (SELECT c.master = ${master} AND c.gen = ${gen} AND c.hi > ${t}.idx FROM claims c
                              WHERE c.job_seq = ${t}.job_seq AND c.lo <= ${t}.idx ORDER BY c.lo DESC LIMIT 1) IS TRUE))`;
}

/** The master holding task row `t` (one by one or in a range), as SQL; null when nobody does or it is final. */
export function holderOf(t: string): string {
  return `CASE WHEN ${t}.state <> 0 THEN NULL WHEN ${t}.gen IS NOT NULL THEN ${t}.owner
    ELSE (SELECT CASE WHEN c.hi > ${t}.idx THEN c.master END FROM claims c WHERE c.job_seq = ${t}.job_seq AND c.lo <= ${t}.idx ORDER BY c.lo DESC LIMIT 1) END`;
}

/**
 * Claim up to `n` of a job's pending, unheld tasks handled one by one before (given back, freed, reset), lowest
 * index first, for (master, gen). Only while the job is queued or running: its row is read FOR KEY SHARE, which
 * commits do not wait for (they lock it FOR NO KEY UPDATE) but a cancel does (FOR UPDATE), so no claim lands
 * after a cancel has freed the job's. Rows come back in no particular order.
 *
 * Nearly always nothing was given back: `EXISTS (SELECT FROM returned)` is then a one-time filter that ends
 * the statement before it reads a task row. Without it, on statistics older than the job (a new job's
 * ANALYZE runs after its insert, in the background), the planner took the job's index range for a few rows
 * and filtered all of it by `idx = ANY (...)`: each master's first claims of a 200,000-task job read every
 * row of it, 37-110 ms each (the cluster benchmark's statement log).
 */
export async function claimReturned(db: Queryable, jobSeq: number, master: string, gen: number, n: number): Promise<ClaimRow[]> {
  const { rows } = await db.query<ClaimRow>({
    name: 'barnraise.claimReturned',
    text: `WITH job AS MATERIALIZED (
             SELECT seq, validation IS NOT NULL AS validated FROM jobs WHERE seq = $1 AND status IN ('queued', 'running') FOR KEY SHARE
           ),
           returned AS MATERIALIZED (
             SELECT t.idx FROM tasks t
             WHERE t.job_seq = (SELECT seq FROM job) AND t.state = 0 AND t.owner IS NULL AND t.gen IS NOT NULL
             ORDER BY t.idx LIMIT $4
             FOR UPDATE SKIP LOCKED
           )
           UPDATE tasks AS t SET owner = $2, gen = $3
           WHERE t.job_seq = $1 AND t.idx = ANY (ARRAY(SELECT idx FROM returned)) AND EXISTS (SELECT FROM returned)
           RETURNING (SELECT validated FROM job), t.idx, t.input, t.failures, t.losses, t.error`,
    values: [jobSeq, master, gen, n],
  });
  return rows;
}

/**
 * Claim the job's next fresh range of up to `n` indices for (master, gen): the cursor moves (its row lock
 * orders masters claiming at once), the range is recorded, and its pending tasks are read. Returns the tasks
 * and whether a range was given (false: the cursor is at the end, or the job is not queued or running).
 *
 * The tasks come back as JSON texts of up to 256 tasks each, `[idx, failures, losses, error, input, idx, ...]`,
 * each input as stored (JSON already): one `JSON.parse` for 256 tasks instead of a protocol row a task, each
 * parsed field by field and its input parsed alone. A claim of 8,000 trivial tasks cost the master's event
 * loop about 2 µs a task as rows, with the garbage they left (a CPU profile of the cluster benchmark's
 * master). 256 inputs of the largest size (1 MB) still make a string V8 can hold.
 */
export async function claimRange(db: Queryable, jobSeq: number, master: string, gen: number, n: number): Promise<{ tasks: ClaimedTask[]; validated: boolean; ranged: boolean }> {
  const { rows } = await db.query<{ validated: boolean; tasks: string | null }>({
    name: 'barnraise.claimRange',
    text: `WITH job AS MATERIALIZED (
             SELECT seq, total, validation IS NOT NULL AS validated FROM jobs WHERE seq = $1 AND status IN ('queued', 'running') FOR KEY SHARE
           ),
           cur AS MATERIALIZED (
             INSERT INTO claim_cursors AS c (job_seq, lo, next, total)
             SELECT seq, 0, LEAST(total, $4), total FROM job WHERE total > 0
             ON CONFLICT (job_seq) DO UPDATE SET lo = c.next, next = LEAST(c.total, c.next + $4) WHERE c.next < c.total
             RETURNING c.job_seq, c.lo, c.next AS hi
           ),
           claim AS (
             INSERT INTO claims (job_seq, lo, hi, master, gen) SELECT job_seq, lo, hi, $2, $3 FROM cur
           )
           SELECT (SELECT validated FROM job), chunk.tasks
           FROM cur LEFT JOIN LATERAL (
             SELECT min(t.idx) AS first, '[' || string_agg(concat_ws(',', t.idx, t.failures, t.losses, COALESCE(to_json(t.error)::text, 'null'), t.input), ',' ORDER BY t.idx) || ']' AS tasks
             FROM tasks t WHERE t.job_seq = cur.job_seq AND t.idx >= cur.lo AND t.idx < cur.hi AND t.state = 0 AND t.gen IS NULL
             GROUP BY t.idx / 256
           ) chunk ON true
           ORDER BY chunk.first`,
    values: [jobSeq, master, gen, n],
  });
  const tasks: ClaimedTask[] = [];
  for (const row of rows) {
    const flat = row.tasks === null ? [] : (JSON.parse(row.tasks) as unknown[]);
    for (let k = 0; k < flat.length; k += 5) {
      tasks.push({ index: flat[k] as number, failures: flat[k + 1] as number, losses: flat[k + 2] as number, error: flat[k + 3] as string | null, input: flat[k + 4] });
    }
  }
  return { tasks, validated: rows[0]?.validated ?? false, ranged: rows.length > 0 };
}

// A task given back keeps a gen: that marks it as handled one by one and claimable (tasks_returned).

/** Give back (master, gen)'s claims on these tasks of a job, held one by one or in a range; returns how many it held. */
export async function releaseTasks(db: Queryable, jobSeq: number, indexes: number[], master: string, gen: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'barnraise.releaseTasks',
    text: `UPDATE tasks AS t SET owner = NULL, gen = $4
           WHERE t.job_seq = $1 AND t.idx = ANY($2::int[]) AND t.state = 0 AND ${heldBy('t', '$3', '$4')}`,
    values: [jobSeq, indexes, master, gen],
  });
  return rowCount ?? 0;
}

/**
 * Free claims: the pending tasks of the ranges `which` deletes are marked handled one by one (claimable), and
 * the tasks held one by one by the same masters are let go. `which` is a DELETE ... RETURNING job_seq, lo, hi,
 * gen on claims; `rows` a WHERE on task row `t` for those held one by one. Returns how many tasks it freed.
 */
async function free(db: Queryable, name: string, which: string, rows: string, values: unknown[]): Promise<number> {
  const { rows: out } = await db.query<{ n: number }>({
    name,
    text: `WITH r AS (${which}),
           -- Only ranges of jobs still running can hold pending tasks (a completed job has none, a cancel frees
           -- its own): a master's ranges of finished jobs, kept until the job is deleted, are not read again.
           live AS MATERIALIZED (
             SELECT r.* FROM r JOIN jobs j ON j.seq = r.job_seq WHERE j.status IN ('queued', 'running')
           ),
           -- EXISTS (SELECT FROM live) is a one-time filter: with no range to free (every sweep but those after
           -- a master's death) the UPDATE reads nothing. Without it, the planner, expecting hundreds of ranges,
           -- hash-joins them against a scan of tasks, and the scan ran before the join found out there were none
           -- (5-9 ms a sweep on a 200,000-task job, each master's every beat).
           ranged AS (
             UPDATE tasks AS t SET gen = live.gen, owner = NULL FROM live
             WHERE t.job_seq = live.job_seq AND t.idx >= live.lo AND t.idx < live.hi AND t.state = 0 AND t.gen IS NULL
               AND EXISTS (SELECT FROM live)
             RETURNING 1
           ),
           -- Disjoint from ranged: a row held one by one has its gen set.
           single AS (
             UPDATE tasks AS t SET owner = NULL WHERE t.gen IS NOT NULL AND ${rows}
             RETURNING 1
           )
           SELECT ((SELECT count(*) FROM ranged) + (SELECT count(*) FROM single))::int AS n`,
    values,
  });
  return out[0]?.n ?? 0;
}

/** Give back every claim of `master`, or those of its generations before `beforeGen`. */
export async function releaseClaims(db: Queryable, master: string, beforeGen: number | null): Promise<number> {
  return free(
    db,
    'barnraise.releaseClaims',
    'DELETE FROM claims WHERE master = $1 AND ($2::int IS NULL OR gen < $2) RETURNING job_seq, lo, hi, gen',
    't.owner = $1 AND ($2::int IS NULL OR t.gen < $2)',
    [master, beforeGen],
  );
}

/**
 * Free every claim whose master has no row: the masters just deleted, and any master that claimed after a
 * sweep had forgotten it and died before beating again (nobody else would ever free those).
 */
export async function releaseOrphanClaims(db: Queryable): Promise<number> {
  return free(
    db,
    'barnraise.releaseOrphanClaims',
    'DELETE FROM claims c WHERE NOT EXISTS (SELECT 1 FROM masters m WHERE m.id = c.master) RETURNING job_seq, lo, hi, gen',
    't.owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM masters m WHERE m.id = t.owner)',
    [],
  );
}

/** [J3] A cancel frees its job's claims (call with the job row locked FOR UPDATE). */
export async function releaseJob(db: Queryable, jobSeq: number): Promise<number> {
  return free(db, 'barnraise.releaseJob', 'DELETE FROM claims WHERE job_seq = $1 RETURNING job_seq, lo, hi, gen', 't.job_seq = $1 AND t.owner IS NOT NULL', [jobSeq]);
}
