/** Rows as PostgreSQL returns them, their conversion to the Store's records, and text PostgreSQL accepts. */
import type { JobStatus } from '@barnraise/shared';
import type { FinishedTask, JobRecord, PendingTask } from '../store.ts';

/** Task states in the `tasks.state` column: the scheduler's TaskState values. */
export const TaskRowState = { pending: 0, done: 2, failed: 3 } as const;

/** Largest value of an `integer` column: indexes and cursors beyond it match no row. */
export const INT4_MAX = 2_147_483_647;

export interface JobRow {
  seq: number;
  id: string;
  name: string;
  code: string;
  priority: number;
  timeout_ms: number;
  max_attempts: number;
  max_losses: number;
  status: string;
  total: number;
  done: number;
  failed: number;
  requeues: string | number;
  created_at: string | number;
  started_at: string | number | null;
  finished_at: string | number | null;
}

// bigint columns arrive as strings (node-pg keeps 64-bit integers exact); times in ms fit a double.
const num = (v: string | number): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: string | number | null): number | null => (v === null ? null : num(v));

export function toRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    name: r.name,
    code: r.code,
    priority: r.priority,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    maxLosses: r.max_losses,
    status: r.status as JobStatus,
    total: r.total,
    done: r.done,
    failed: r.failed,
    requeues: num(r.requeues),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
  };
}

export interface ResultRow {
  idx: number;
  state: number;
  output: string | null;
  error: string | null;
}

export function toFinished(r: ResultRow): FinishedTask {
  return r.state === TaskRowState.done
    ? { index: r.idx, status: 'done', output: JSON.parse(r.output ?? 'null') as unknown }
    : { index: r.idx, status: 'failed', error: r.error ?? '' };
}

export interface PendingRow {
  idx: number;
  input: string;
  failures: number;
  losses: number;
  error: string | null;
}

export function toPending(t: PendingRow): PendingTask {
  return { index: t.idx, input: JSON.parse(t.input) as unknown, failures: t.failures, losses: t.losses, error: t.error };
}

/**
 * Text as a `text` column takes it. PostgreSQL refuses U+0000 in text (SQLite keeps it), and a volunteer's
 * error message or a job's name may carry one: it becomes U+FFFD, as unpaired surrogates already do on
 * their way to UTF-8 in both backends. JSON values never need this: JSON.stringify escapes U+0000.
 */
export function pgText(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
}

/**
 * Job code as a `text` column takes it: a raw U+0000 can only stand in a string, template or regular
 * expression literal or a comment of valid JavaScript, where the escape `\u0000` means the same character.
 */
export function pgCode(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '\\u0000') : s;
}

/** Can `id` name a stored job? Ids with U+0000 cannot (and would make PostgreSQL refuse the query). */
export function storableId(id: string): boolean {
  return !id.includes('\0');
}

/** Is `n` an index that an `integer` column can hold? */
export function int4(n: number): boolean {
  return Number.isInteger(n) && n >= -INT4_MAX && n <= INT4_MAX;
}
