/** SQLite rows and their conversion to the Store's records. */
import type { JobStatus } from '@barnraise/shared';
import type { FinishedTask, IdentityRecord, JobCounters, JobRecord, MasterRow, MasterStats, ReplicaKind, ReplicaRecord, ReplicaVerdict, Vote } from '../store.ts';
import type { TrustState } from '../../validation/trust.ts';

/** Task states as stored: the scheduler's TaskState values for pending (queued) and the final ones. */
export const PENDING = 0;
export const DONE = 2;
export const FAILED = 3;

export interface ResultRow {
  idx: number;
  state: number;
  output: string | null;
  error: string | null;
  fin?: number | null;
}

export function toFinished(r: ResultRow): FinishedTask {
  return r.state === DONE
    ? { index: r.idx, status: 'done', output: JSON.parse(r.output ?? 'null') as unknown }
    : { index: r.idx, status: 'failed', error: r.error ?? '' };
}

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
  requeues: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  validation: string | null;
  assets: string | null;
  replicas: number;
  inconclusive: number;
  fin: number;
}

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
    requeues: r.requeues,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    fin: r.fin,
    ...(r.validation ? { validation: JSON.parse(r.validation) as JobRecord['validation'], replicas: r.replicas, inconclusive: r.inconclusive } : {}),
    ...(r.assets ? { assets: JSON.parse(r.assets) as JobRecord['assets'] } : {}),
  };
}

/** The columns of a job row a master syncs on (no code, no name). */
export const COUNTER_COLUMNS = 'id, priority, timeout_ms, max_attempts, max_losses, status, total, done, failed, requeues, created_at, started_at, finished_at, validation, replicas, inconclusive, fin';

export function toCounters(r: Omit<JobRow, 'seq' | 'code' | 'name' | 'assets'>): JobCounters {
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
    requeues: r.requeues,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    fin: r.fin,
    ...(r.validation ? { replicas: r.replicas, inconclusive: r.inconclusive } : {}),
  };
}

export interface IdentityRow {
  id: string;
  key: string;
  network: string;
  created_at: number;
  state: string;
  vouched: number;
  streak: number;
  trusted_checks: number;
  checks_passed: number;
  checks_failed: number;
  contradicted: number;
  banned_at: number | null;
  ban_reason: string | null;
}

export function toIdentity(r: IdentityRow): IdentityRecord {
  return {
    id: r.id,
    key: r.key,
    network: r.network,
    createdAt: r.created_at,
    state: r.state as TrustState,
    vouched: r.vouched === 1,
    streak: r.streak,
    trustedChecks: r.trusted_checks,
    checksPassed: r.checks_passed,
    checksFailed: r.checks_failed,
    contradicted: r.contradicted,
    bannedAt: r.banned_at,
    banReason: r.ban_reason,
  };
}

/** An identity record as the upsert statement's named parameters. */
export function identityParams(r: IdentityRecord): Record<string, unknown> {
  return { ...r, vouched: r.vouched ? 1 : 0 };
}

export interface ReplicaRow {
  idx: number;
  attempt: string;
  identity: string;
  network: string;
  kind: string;
  ok: number;
  hash: string;
  output: string | null;
  error: string | null;
  at: number;
  verdict: string;
}

export function toVote(r: ReplicaRow): Vote {
  return {
    attempt: r.attempt,
    identity: r.identity,
    network: r.network,
    ok: r.ok === 1,
    output: r.ok === 1 ? (JSON.parse(r.output ?? 'null') as unknown) : null,
    error: r.error,
    hash: r.hash,
    credit: r.verdict === 'credited' ? 'trust' : r.verdict === 'seasoning' ? 'seasoning' : null,
  };
}

export function toReplica(r: ReplicaRow): ReplicaRecord {
  return { attempt: r.attempt, identity: r.identity, kind: r.kind as ReplicaKind, ok: r.ok === 1, hash: r.hash, error: r.error, at: r.at, verdict: r.verdict as ReplicaVerdict };
}

