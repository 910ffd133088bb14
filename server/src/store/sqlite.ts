/**
 * SQLite backend (better-sqlite3, WAL). Writes come in group commits from the writer, so the
 * per-transaction fsync (synchronous=FULL: a power cut cannot lose an acknowledged result) is paid
 * once per batch, not once per task.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { JobStatus } from '@barnraise/shared';
import type { AttemptEnd } from '../scheduler/lease.ts';
import type {
  AttemptRecord,
  CommitBatch,
  FinishedTask,
  IdentityPage,
  IdentityRecord,
  JobPage,
  JobRecord,
  PendingTask,
  RecoveredJob,
  ReplicaKind,
  ReplicaRecord,
  ReplicaVerdict,
  StoredCheck,
  Store,
  TaskDetail,
} from './store.ts';
import type { TrustState } from '../validation/trust.ts';

/** Schema migrations, applied in order; PRAGMA user_version records how many ran. */
const MIGRATIONS: string[] = [
  `CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     code TEXT NOT NULL,
     priority INTEGER NOT NULL,
     timeout_ms INTEGER NOT NULL,
     max_attempts INTEGER NOT NULL,
     max_losses INTEGER NOT NULL,
     status TEXT NOT NULL,
     total INTEGER NOT NULL,
     done INTEGER NOT NULL DEFAULT 0,
     failed INTEGER NOT NULL DEFAULT 0,
     requeues INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER
   );
   CREATE INDEX jobs_status ON jobs(status);
   -- state: 0 pending, 2 done, 3 failed (the scheduler's TaskState values)
   CREATE TABLE tasks (
     job_seq INTEGER NOT NULL,
     idx INTEGER NOT NULL,
     state INTEGER NOT NULL DEFAULT 0,
     input TEXT NOT NULL,
     output TEXT,
     error TEXT,
     failures INTEGER NOT NULL DEFAULT 0,
     losses INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (job_seq, idx)
   ) WITHOUT ROWID;`,
  // Attempt history: one row per ended attempt (written in the same group commits as results).
  `CREATE TABLE attempts (
     job_seq INTEGER NOT NULL,
     idx INTEGER NOT NULL,
     attempt TEXT NOT NULL,
     volunteer TEXT NOT NULL,
     leased_at INTEGER NOT NULL,
     ended_at INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     error TEXT
   );
   CREATE INDEX attempts_task ON attempts(job_seq, idx);`,
  // Result validation (SPEC.md section V): votes and checks, identities and their trust, known answers.
  `ALTER TABLE jobs ADD COLUMN validation TEXT;
   ALTER TABLE jobs ADD COLUMN replicas INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE jobs ADD COLUMN inconclusive INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE replicas (
     job_seq INTEGER NOT NULL,
     attempt TEXT NOT NULL,
     idx INTEGER NOT NULL,
     identity TEXT NOT NULL,
     network TEXT NOT NULL,
     kind TEXT NOT NULL,
     ok INTEGER NOT NULL,
     hash TEXT NOT NULL,
     output TEXT,
     error TEXT,
     at INTEGER NOT NULL,
     verdict TEXT NOT NULL,
     PRIMARY KEY (job_seq, attempt)
   ) WITHOUT ROWID;
   CREATE INDEX replicas_task ON replicas(job_seq, idx);
   CREATE TABLE identities (
     id TEXT PRIMARY KEY,
     key TEXT NOT NULL,
     network TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     vouched INTEGER NOT NULL,
     streak INTEGER NOT NULL,
     trusted_checks INTEGER NOT NULL,
     checks_passed INTEGER NOT NULL,
     checks_failed INTEGER NOT NULL,
     contradicted INTEGER NOT NULL,
     banned_at INTEGER,
     ban_reason TEXT
   );
   CREATE TABLE checks (
     job_seq INTEGER NOT NULL,
     k INTEGER NOT NULL,
     idx INTEGER,
     input TEXT NOT NULL,
     output TEXT NOT NULL,
     PRIMARY KEY (job_seq, k)
   ) WITHOUT ROWID;`,
];

const DONE = 2;
const FAILED = 3;

interface ResultRow {
  idx: number;
  state: number;
  output: string | null;
  error: string | null;
}

function toFinished(r: ResultRow): FinishedTask {
  return r.state === DONE
    ? { index: r.idx, status: 'done', output: JSON.parse(r.output ?? 'null') as unknown }
    : { index: r.idx, status: 'failed', error: r.error ?? '' };
}

interface JobRow {
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
  replicas: number;
  inconclusive: number;
}

interface IdentityRow {
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

function toIdentity(r: IdentityRow): IdentityRecord {
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

interface ReplicaRow {
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

function toRecord(r: JobRow): JobRecord {
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
    ...(r.validation ? { validation: JSON.parse(r.validation) as JobRecord['validation'], replicas: r.replicas, inconclusive: r.inconclusive } : {}),
  };
}

export interface SqliteOptions {
  /** Database file; ':memory:' for tests that need no durability. */
  file: string;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** job id -> seq, to keep task keys small. Bounded by the jobs on disk. */
  private readonly seqs = new Map<string, number>();
  private readonly stmts;

  constructor(opts: SqliteOptions) {
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    const db = this.db;
    this.stmts = {
      insertJob: db.prepare(
        `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, done, failed, requeues, created_at, started_at, finished_at, validation)
         VALUES (@id, @name, @code, @priority, @timeoutMs, @maxAttempts, @maxLosses, @status, @total, @done, @failed, @requeues, @createdAt, @startedAt, @finishedAt, @validation)`,
      ),
      insertTask: db.prepare('INSERT INTO tasks (job_seq, idx, input) VALUES (?, ?, ?)'),
      done: db.prepare('UPDATE tasks SET state = 2, output = ?, failures = ?, losses = ? WHERE job_seq = ? AND idx = ? AND state = 0'),
      failed: db.prepare('UPDATE tasks SET state = 3, error = ?, failures = ?, losses = ? WHERE job_seq = ? AND idx = ? AND state = 0'),
      retry: db.prepare('UPDATE tasks SET failures = ?, losses = ?, error = ? WHERE job_seq = ? AND idx = ? AND state = 0'),
      progress: db.prepare(
        'UPDATE jobs SET status = @status, done = @done, failed = @failed, requeues = @requeues, started_at = @startedAt, finished_at = @finishedAt, replicas = @replicas, inconclusive = @inconclusive WHERE id = @id',
      ),
      insertReplica: db.prepare(
        'INSERT OR IGNORE INTO replicas (job_seq, attempt, idx, identity, network, kind, ok, hash, output, error, at, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      setVerdict: db.prepare('UPDATE replicas SET verdict = ? WHERE job_seq = ? AND attempt = ?'),
      upsertIdentity: db.prepare(
        `INSERT INTO identities (id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason)
         VALUES (@id, @key, @network, @createdAt, @state, @vouched, @streak, @trustedChecks, @checksPassed, @checksFailed, @contradicted, @bannedAt, @banReason)
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, vouched = excluded.vouched, streak = excluded.streak, trusted_checks = excluded.trusted_checks, checks_passed = excluded.checks_passed,
           checks_failed = excluded.checks_failed, contradicted = excluded.contradicted, banned_at = excluded.banned_at, ban_reason = excluded.ban_reason`,
      ),
      getIdentity: db.prepare('SELECT * FROM identities WHERE id = ?'),
      countIdentities: db.prepare('SELECT COUNT(*) AS n FROM identities'),
      listIdentities: db.prepare('SELECT * FROM identities ORDER BY rowid DESC LIMIT ? OFFSET ?'),
      insertCheck: db.prepare('INSERT INTO checks (job_seq, k, idx, input, output) VALUES (?, ?, ?, ?, ?)'),
      checks: db.prepare('SELECT idx, input, output FROM checks WHERE job_seq = ? ORDER BY k'),
      unsettledVotes: db.prepare(
        "SELECT idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict FROM replicas WHERE job_seq = ? AND kind = 'vote' AND verdict IN ('pending', 'credited') ORDER BY at, attempt",
      ),
      taskReplicas: db.prepare('SELECT idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict FROM replicas WHERE job_seq = ? AND idx = ? ORDER BY at, attempt'),
      deleteReplicas: db.prepare('DELETE FROM replicas WHERE job_seq = ?'),
      deleteChecks: db.prepare('DELETE FROM checks WHERE job_seq = ?'),
      getJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      seqOf: db.prepare('SELECT seq FROM jobs WHERE id = ?'),
      listFirst: db.prepare('SELECT * FROM jobs ORDER BY seq DESC LIMIT ?'),
      listAfter: db.prepare('SELECT * FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
      unfinishedJobs: db.prepare("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq"),
      pending: db.prepare('SELECT idx, input, failures, losses, error FROM tasks WHERE job_seq = ? AND state = 0 ORDER BY idx'),
      countFinal: db.prepare('SELECT SUM(state = 2) AS done, SUM(state = 3) AS failed FROM tasks WHERE job_seq = ?'),
      results: db.prepare('SELECT idx, state, output, error FROM tasks WHERE job_seq = ? AND idx > ? AND state >= 2 ORDER BY idx LIMIT ?'),
      oldJobs: db.prepare("SELECT seq, id FROM jobs WHERE status IN ('completed', 'cancelled') AND finished_at < ?"),
      deleteTasks: db.prepare('DELETE FROM tasks WHERE job_seq = ?'),
      deleteAttempts: db.prepare('DELETE FROM attempts WHERE job_seq = ?'),
      insertAttempt: db.prepare('INSERT INTO attempts (job_seq, idx, attempt, volunteer, leased_at, ended_at, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      sample: db.prepare('SELECT idx, state, output, error FROM tasks WHERE job_seq = ? AND state = ? ORDER BY idx LIMIT ?'),
      task: db.prepare('SELECT idx, state, input, output, error, failures, losses FROM tasks WHERE job_seq = ? AND idx = ?'),
      taskAttempts: db.prepare('SELECT attempt, volunteer, leased_at, ended_at, outcome, error FROM attempts WHERE job_seq = ? AND idx = ? ORDER BY ended_at, rowid'),
      failedTasks: db.prepare('SELECT idx, input, losses FROM tasks WHERE job_seq = ? AND state = 3 ORDER BY idx'),
      resetFailed: db.prepare('UPDATE tasks SET state = 0, failures = 0, error = NULL WHERE job_seq = ? AND state = 3'),
      reopenJob: db.prepare("UPDATE jobs SET status = 'running', failed = failed - ?, finished_at = NULL WHERE seq = ?"),
      deleteJob: db.prepare('DELETE FROM jobs WHERE seq = ?'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private seq(jobId: string): number | undefined {
    let seq = this.seqs.get(jobId);
    if (seq === undefined) {
      seq = (this.stmts.seqOf.get(jobId) as { seq: number } | undefined)?.seq;
      if (seq !== undefined) this.seqs.set(jobId, seq);
    }
    return seq;
  }

  async insertJob(spec: JobRecord, inputs: readonly unknown[], checks: readonly StoredCheck[] = []): Promise<void> {
    this.db.transaction(() => {
      const { lastInsertRowid } = this.stmts.insertJob.run({ ...spec, validation: spec.validation ? JSON.stringify(spec.validation) : null });
      const seq = Number(lastInsertRowid);
      const insert = this.stmts.insertTask;
      for (let i = 0; i < inputs.length; i++) insert.run(seq, i, JSON.stringify(inputs[i] ?? null));
      checks.forEach((c, k) => this.stmts.insertCheck.run(seq, k, c.index ?? null, JSON.stringify(c.input ?? null), JSON.stringify(c.output ?? null)));
      this.seqs.set(spec.id, seq);
    })();
  }

  async commit(batch: CommitBatch): Promise<void> {
    const s = this.stmts;
    this.db.transaction(() => {
      for (const w of batch.tasks) {
        const seq = this.seq(w.job);
        if (seq === undefined) continue;
        if (w.kind === 'done') s.done.run(JSON.stringify(w.output ?? null), w.failures, w.losses, seq, w.index);
        else if (w.kind === 'failed') s.failed.run(w.error, w.failures, w.losses, seq, w.index);
        else s.retry.run(w.failures, w.losses, w.error, seq, w.index);
      }
      for (const j of batch.jobs) s.progress.run({ replicas: 0, inconclusive: 0, ...j });
      for (const a of batch.attempts) {
        const seq = this.seq(a.job);
        if (seq !== undefined) s.insertAttempt.run(seq, a.index, a.attempt, a.volunteer, a.leasedAt, a.endedAt, a.end, a.error);
      }
      for (const r of batch.replicas ?? []) {
        const seq = this.seq(r.job);
        if (seq === undefined) continue;
        s.insertReplica.run(seq, r.attempt, r.index, r.identity, r.network, r.kind, r.ok ? 1 : 0, r.hash, r.ok ? JSON.stringify(r.output ?? null) : null, r.error, r.at, r.verdict);
      }
      for (const v of batch.verdicts ?? []) {
        const seq = this.seq(v.job);
        if (seq !== undefined) s.setVerdict.run(v.verdict, seq, v.attempt);
      }
      for (const r of batch.identities ?? []) s.upsertIdentity.run({ ...r, vouched: r.vouched ? 1 : 0 });
    })();
  }

  async loadUnfinished(): Promise<RecoveredJob[]> {
    return (this.stmts.unfinishedJobs.all() as JobRow[]).map((row) => this.recovered(row));
  }

  async loadJob(jobId: string): Promise<RecoveredJob | undefined> {
    const row = this.stmts.getJob.get(jobId) as JobRow | undefined;
    return row && (row.status === 'queued' || row.status === 'running') ? this.recovered(row) : undefined;
  }

  private recovered(row: JobRow): RecoveredJob {
    this.seqs.set(row.id, row.seq);
    // Counts come from the task rows, which the same transactions wrote, so they agree after any crash.
    const counts = this.stmts.countFinal.get(row.seq) as { done: number | null; failed: number | null };
    const record = { ...toRecord(row), done: counts.done ?? 0, failed: counts.failed ?? 0 };
    const pending: PendingTask[] = (this.stmts.pending.all(row.seq) as Array<{ idx: number; input: string; failures: number; losses: number; error: string | null }>).map(
      (t) => ({ index: t.idx, input: JSON.parse(t.input) as unknown, failures: t.failures, losses: t.losses, error: t.error }),
    );
    if (!record.validation) return { record, pending };
    const votes = (this.stmts.unsettledVotes.all(row.seq) as ReplicaRow[]).map((r) => ({
      index: r.idx,
      vote: {
        attempt: r.attempt,
        identity: r.identity,
        network: r.network,
        ok: r.ok === 1,
        output: r.ok === 1 ? (JSON.parse(r.output ?? 'null') as unknown) : null,
        error: r.error,
        hash: r.hash,
        credited: r.verdict === 'credited',
      },
    }));
    const checks = (this.stmts.checks.all(row.seq) as Array<{ idx: number | null; input: string; output: string }>).map(
      (c): StoredCheck => ({ input: JSON.parse(c.input) as unknown, output: JSON.parse(c.output) as unknown, ...(c.idx === null ? {} : { index: c.idx }) }),
    );
    return { record, pending, votes, checks };
  }

  async sampleResults(jobId: string, status: 'done' | 'failed', limit: number): Promise<FinishedTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.stmts.sample.all(seq, status === 'done' ? DONE : FAILED, limit) as ResultRow[]).map(toFinished);
  }

  async taskDetail(jobId: string, index: number): Promise<TaskDetail | undefined> {
    const seq = this.seq(jobId);
    if (seq === undefined) return undefined;
    const t = this.stmts.task.get(seq, index) as
      | { idx: number; state: number; input: string; output: string | null; error: string | null; failures: number; losses: number }
      | undefined;
    if (!t) return undefined;
    const attempts = (this.stmts.taskAttempts.all(seq, index) as Array<{ attempt: string; volunteer: string; leased_at: number; ended_at: number; outcome: string; error: string | null }>).map(
      (a): AttemptRecord => ({ attempt: a.attempt, volunteer: a.volunteer, leasedAt: a.leased_at, endedAt: a.ended_at, end: a.outcome as AttemptEnd, error: a.error }),
    );
    const state = t.state === DONE ? 'done' : t.state === FAILED ? 'failed' : 'pending';
    const replicas = (this.stmts.taskReplicas.all(seq, index) as ReplicaRow[]).map(
      (r): ReplicaRecord => ({ attempt: r.attempt, identity: r.identity, kind: r.kind as ReplicaKind, ok: r.ok === 1, hash: r.hash, error: r.error, at: r.at, verdict: r.verdict as ReplicaVerdict }),
    );
    return {
      index: t.idx,
      state,
      input: JSON.parse(t.input) as unknown,
      ...(state === 'done' ? { output: JSON.parse(t.output ?? 'null') as unknown } : {}),
      ...(t.error !== null ? { error: t.error } : {}),
      failures: t.failures,
      losses: t.losses,
      attempts,
      replicas,
    };
  }

  async getIdentity(id: string): Promise<IdentityRecord | undefined> {
    const row = this.stmts.getIdentity.get(id) as IdentityRow | undefined;
    return row && toIdentity(row);
  }

  async getIdentities(ids: readonly string[]): Promise<IdentityRecord[]> {
    const out: IdentityRecord[] = [];
    for (const id of new Set(ids)) {
      const row = this.stmts.getIdentity.get(id) as IdentityRow | undefined;
      if (row) out.push(toIdentity(row));
    }
    return out;
  }

  async listIdentities(offset: number, limit: number): Promise<IdentityPage> {
    const total = (this.stmts.countIdentities.get() as { n: number }).n;
    return { total, offset, rows: (this.stmts.listIdentities.all(limit, offset) as IdentityRow[]).map(toIdentity) };
  }

  async resetFailed(jobId: string): Promise<PendingTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return this.db.transaction(() => {
      const failed = this.stmts.failedTasks.all(seq) as Array<{ idx: number; input: string; losses: number }>;
      if (failed.length === 0) return [];
      this.stmts.resetFailed.run(seq);
      this.stmts.reopenJob.run(failed.length, seq);
      return failed.map((t) => ({ index: t.idx, input: JSON.parse(t.input) as unknown, failures: 0, losses: t.losses, error: null }));
    })();
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = this.stmts.getJob.get(id) as JobRow | undefined;
    return row && toRecord(row);
  }

  async listJobs(limit: number, cursor?: string): Promise<JobPage> {
    const before = cursor === undefined ? undefined : Number.parseInt(cursor, 10);
    const rows = (
      before === undefined || !Number.isFinite(before) ? this.stmts.listFirst.all(limit + 1) : this.stmts.listAfter.all(before, limit + 1)
    ) as JobRow[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: page.map(toRecord), ...(rows.length > limit && last ? { next: String(last.seq) } : {}) };
  }

  async readResults(jobId: string, afterIndex: number, limit: number): Promise<FinishedTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.stmts.results.all(seq, afterIndex, limit) as ResultRow[]).map(toFinished);
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    const old = this.stmts.oldJobs.all(before) as Array<{ seq: number; id: string }>;
    this.db.transaction(() => {
      for (const { seq, id } of old) {
        this.stmts.deleteTasks.run(seq);
        this.stmts.deleteAttempts.run(seq);
        this.stmts.deleteReplicas.run(seq);
        this.stmts.deleteChecks.run(seq);
        this.stmts.deleteJob.run(seq);
        this.seqs.delete(id);
      }
    })();
    return old.length;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
