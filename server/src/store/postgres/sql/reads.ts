/** The store's reads: none of these change anything. */
import type { Queryable } from '../connect.ts';
import { COUNTER_COLUMNS, type CounterRow, type JobRow, type ResultRow } from '../rows.ts';

export async function jobById(db: Queryable, id: string): Promise<JobRow | undefined> {
  const { rows } = await db.query<JobRow>({ name: 'barnraise.jobById', text: 'SELECT * FROM jobs WHERE id = $1', values: [id] });
  return rows[0];
}

/** seq of each of `ids` that exists. */
export async function seqsOf(db: Queryable, ids: string[]): Promise<Array<{ id: string; seq: number }>> {
  const { rows } = await db.query<{ id: string; seq: number }>({ name: 'barnraise.seqsOf', text: 'SELECT id, seq FROM jobs WHERE id = ANY($1::text[])', values: [ids] });
  return rows;
}

/** Newest first; `before` is a seq cursor (exclusive), null for the first page. */
export async function listJobs(db: Queryable, before: number | null, limit: number): Promise<JobRow[]> {
  const { rows } =
    before === null
      ? await db.query<JobRow>({ name: 'barnraise.listJobs', text: 'SELECT * FROM jobs ORDER BY seq DESC LIMIT $1', values: [limit] })
      : await db.query<JobRow>({ name: 'barnraise.listJobsBefore', text: 'SELECT * FROM jobs WHERE seq < $1::bigint ORDER BY seq DESC LIMIT $2', values: [before, limit] });
  return rows;
}

/** [K7] Queued and running jobs, oldest first, without their code. */
export async function activeJobs(db: Queryable): Promise<CounterRow[]> {
  const { rows } = await db.query<CounterRow>({
    name: 'barnraise.activeJobs',
    text: `SELECT seq, ${COUNTER_COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq`,
  });
  return rows;
}

/** [J2] Final tasks after `afterIndex`, in index order (the primary key's order). */
export async function finishedAfter(db: Queryable, jobSeq: number, afterIndex: number, limit: number): Promise<ResultRow[]> {
  const { rows } = await db.query<ResultRow>({
    name: 'barnraise.finishedAfter',
    text: 'SELECT idx, state, output, error FROM tasks WHERE job_seq = $1 AND idx > $2 AND state >= 2 ORDER BY idx LIMIT $3',
    values: [jobSeq, afterIndex, limit],
  });
  return rows;
}

/**
 * [K6] The entries numbered `afterFin + 1` to `afterFin + count` of the job's runs (the finals key), each with
 * its task (by its key); the place of a task made pending again since (J4) is marked stale (finals.ts) and
 * comes back with a null `idx`. Numbers are dense, so fewer than `count` entries means the job has no more
 * yet. The window bounds the join and the sort by `count`; each run in it is unnested whole.
 */
export async function finalsWindow(db: Queryable, jobSeq: number, afterFin: number, count: number): Promise<Array<Partial<ResultRow> & { fin: string }>> {
  const { rows } = await db.query<Partial<ResultRow> & { fin: string }>({
    name: 'barnraise.finalsWindow',
    text: `SELECT t.idx, t.state, t.output, t.error, f.lo + e.n AS fin
           FROM finals f
           CROSS JOIN LATERAL unnest(f.idxs) WITH ORDINALITY AS e(idx, n)
           LEFT JOIN tasks t ON t.job_seq = f.job_seq AND t.idx = e.idx AND t.state >= 2
           WHERE f.job_seq = $1 AND f.lo >= COALESCE((SELECT max(lo) FROM finals WHERE job_seq = $1 AND lo <= $2), 0) AND f.lo < $2 + $3
             AND f.lo + e.n > $2 AND f.lo + e.n <= $2 + $3
           ORDER BY f.lo, e.n`,
    values: [jobSeq, afterFin, count],
  });
  return rows;
}

/** Numbers a window spans at least: a long stretch of stale entries is crossed in windows this wide, not one by one. */
const MIN_WINDOW = 1024;

/**
 * [K6] Final tasks numbered after `afterFin`, in commit order, at most `limit`: windows on past stale entries.
 * Numbers start at 1, so any place below 0 reads from the start.
 */
export async function finishedSince(db: Queryable, jobSeq: number, afterFin: number, limit: number): Promise<Array<ResultRow & { fin: string }>> {
  const out: Array<ResultRow & { fin: string }> = [];
  for (let at = Math.max(afterFin, 0); out.length < limit; ) {
    const count = Math.max(limit - out.length, MIN_WINDOW);
    const entries = await finalsWindow(db, jobSeq, at, count);
    for (const e of entries) {
      if (out.length === limit) break;
      if (e.idx !== null && e.idx !== undefined) out.push(e as ResultRow & { fin: string });
    }
    if (entries.length < count) break;
    at += count;
  }
  return out;
}

export async function sampleByState(db: Queryable, jobSeq: number, state: number, limit: number): Promise<ResultRow[]> {
  const { rows } = await db.query<ResultRow>({
    name: 'barnraise.sampleByState',
    text: 'SELECT idx, state, output, error FROM tasks WHERE job_seq = $1 AND state = $2 ORDER BY idx LIMIT $3',
    values: [jobSeq, state, limit],
  });
  return rows;
}

export interface TaskRow extends ResultRow {
  input: string;
  failures: number;
  losses: number;
  attempt: string | null;
  volunteer: string | null;
  leased_at: string | null;
  ended_at: string | null;
}

export async function taskRow(db: Queryable, jobSeq: number, index: number): Promise<TaskRow | undefined> {
  const { rows } = await db.query<TaskRow>({
    name: 'barnraise.taskRow',
    text: 'SELECT idx, state, input, output, error, failures, losses, attempt, volunteer, leased_at, ended_at FROM tasks WHERE job_seq = $1 AND idx = $2',
    values: [jobSeq, index],
  });
  return rows[0];
}

export interface AttemptRow {
  attempt: string;
  volunteer: string;
  leased_at: string;
  ended_at: string;
  outcome: string;
  error: string | null;
}

/** A task's ended attempts, oldest first. */
export async function taskAttempts(db: Queryable, jobSeq: number, index: number): Promise<AttemptRow[]> {
  const { rows } = await db.query<AttemptRow>({
    name: 'barnraise.taskAttempts',
    text: 'SELECT attempt, volunteer, leased_at, ended_at, outcome, error FROM attempts WHERE job_seq = $1 AND idx = $2 ORDER BY ended_at, leased_at, attempt',
    values: [jobSeq, index],
  });
  return rows;
}
