/** Rows as PostgreSQL returns them, their conversion to the Store's records, and text PostgreSQL accepts. */
import type { JobStatus } from '@barnraise/shared';
import type { FinishedTask, IdentityRecord, JobCounters, JobRecord, MasterRow, MasterStats, ReplicaKind, ReplicaRecord, ReplicaVerdict, Vote } from '../store.ts';
import type { TrustState } from '../../validation/trust.ts';

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
  /** The validation policy as JSON text; null for a job without validation. */
  validation: string | null;
  /** The job's assets as JSON text (section A); null when it names none. */
  assets: string | null;
  replicas: string | number;
  inconclusive: number;
  /** The last number given to a final task (K6). */
  fin: string | number;
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
    fin: num(r.fin),
    // As SQLite: the policy and its counters only on a validated job's record.
    ...(r.validation === null
      ? {}
      : { validation: JSON.parse(r.validation) as JobRecord['validation'], replicas: num(r.replicas), inconclusive: r.inconclusive }),
    ...(r.assets ? { assets: JSON.parse(r.assets) as JobRecord['assets'] } : {}),
  };
}

/** The columns of a job row a master syncs on (no code, no name): what commit receipts and activeJobs return. */
export const COUNTER_COLUMNS = 'id, priority, timeout_ms, max_attempts, max_losses, status, total, done, failed, requeues, created_at, started_at, finished_at, validation, replicas, inconclusive, fin';

export type CounterRow = Omit<JobRow, 'code' | 'name' | 'assets'>;

export function toCounters(r: CounterRow): JobCounters {
  return {
    id: r.id,
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
    fin: num(r.fin),
    ...(r.validation === null ? {} : { replicas: num(r.replicas), inconclusive: r.inconclusive }),
  };
}

export interface IdentityRow {
  id: string;
  key: string;
  network: string;
  created_at: string | number;
  state: string;
  vouched: boolean;
  streak: number;
  trusted_checks: number;
  checks_passed: number;
  checks_failed: number;
  contradicted: number;
  banned_at: string | number | null;
  ban_reason: string | null;
}

export function toIdentity(r: IdentityRow): IdentityRecord {
  return {
    id: r.id,
    key: r.key,
    network: r.network,
    createdAt: num(r.created_at),
    state: r.state as TrustState,
    vouched: r.vouched,
    streak: r.streak,
    trustedChecks: r.trusted_checks,
    checksPassed: r.checks_passed,
    checksFailed: r.checks_failed,
    contradicted: r.contradicted,
    bannedAt: numOrNull(r.banned_at),
    banReason: r.ban_reason,
  };
}

export interface ReplicaRow {
  idx: number;
  attempt: string;
  identity: string;
  network: string;
  kind: string;
  ok: boolean;
  hash: string;
  output: string | null;
  error: string | null;
  at: string | number;
  verdict: string;
}

/** An unsettled vote as a claim gives it back to its task (rule V13). */
export function toVote(r: ReplicaRow): Vote {
  return {
    attempt: r.attempt,
    identity: r.identity,
    network: r.network,
    ok: r.ok,
    output: r.ok ? (JSON.parse(r.output ?? 'null') as unknown) : null,
    error: r.error,
    hash: r.hash,
    credit: r.verdict === 'credited' ? 'trust' : r.verdict === 'seasoning' ? 'seasoning' : null,
  };
}

export function toReplicaRecord(r: ReplicaRow): ReplicaRecord {
  return { attempt: r.attempt, identity: r.identity, kind: r.kind as ReplicaKind, ok: r.ok, hash: r.hash, error: r.error, at: num(r.at), verdict: r.verdict as ReplicaVerdict };
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

export interface MasterDbRow {
  id: string;
  gen: number;
  url: string;
  started_at: string | number;
  beat_at: string | number;
  /** jsonb: node-pg parses it. */
  stats: MasterStats;
}

export function toMaster(r: MasterDbRow): MasterRow {
  return { id: r.id, gen: r.gen, url: r.url, startedAt: num(r.started_at), beatAt: num(r.beat_at), stats: r.stats };
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
