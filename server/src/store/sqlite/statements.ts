/**
 * Every SQLite statement the store runs, prepared once. Each one that changes a task says in its WHERE
 * clause what it may change: a pending task (rule E1). Whether the writing master holds it (rule K4) is
 * asked of the claims in memory (claims.ts) before the statement runs.
 */
import type Database from 'better-sqlite3';
import { COUNTER_COLUMNS } from './rows.ts';

/** Rows in one `insertTasks` statement (3 parameters each, far under SQLite's limit of 32,766). */
export const TASK_ROWS = 100;

export function prepare(db: Database.Database) {
  return {
    // ---- jobs
    insertJob: db.prepare(
      `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, done, failed, requeues, created_at, started_at, finished_at, validation, assets)
       VALUES (@id, @name, @code, @priority, @timeoutMs, @maxAttempts, @maxLosses, @status, @total, @done, @failed, @requeues, @createdAt, @startedAt, @finishedAt, @validation, @assets)`,
    ),
    insertTask: db.prepare('INSERT INTO tasks (job_seq, idx, input) VALUES (?, ?, ?)'),
    /** A job's inputs TASK_ROWS rows a statement: one bind-and-step per row was about half of an insert's cost. */
    insertTasks: db.prepare(`INSERT INTO tasks (job_seq, idx, input) VALUES ${Array(TASK_ROWS).fill('(?, ?, ?)').join(', ')}`),
    getJob: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    jobBySeq: db.prepare('SELECT * FROM jobs WHERE seq = ?'),
    seqOf: db.prepare('SELECT seq FROM jobs WHERE id = ?'),
    listFirst: db.prepare('SELECT * FROM jobs ORDER BY seq DESC LIMIT ?'),
    listAfter: db.prepare('SELECT * FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
    activeJobs: db.prepare(`SELECT ${COUNTER_COLUMNS} FROM jobs WHERE status IN ('queued', 'running') ORDER BY seq`),
    /** [K5] A job's counters after a commit: increments, and the status they imply. */
    updateJob: db.prepare(
      `UPDATE jobs SET done = done + @done, failed = failed + @failed, requeues = requeues + @requeues, replicas = replicas + @replicas,
         inconclusive = inconclusive + @inconclusive, fin = @fin, status = @status, started_at = @startedAt, finished_at = @finishedAt WHERE seq = @seq`,
    ),
    cancelJob: db.prepare("UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE seq = ? AND status IN ('queued', 'running')"),
    reopenJob: db.prepare("UPDATE jobs SET status = 'running', failed = failed - ?, finished_at = NULL WHERE seq = ?"),
    oldJobs: db.prepare("SELECT seq, id FROM jobs WHERE status IN ('completed', 'cancelled') AND finished_at < ?"),
    deleteJob: db.prepare('DELETE FROM jobs WHERE seq = ?'),

    // ---- task writes of a commit (rule E1; K4 is checked against the claims, kept in memory: claims.ts).
    // Final ones take their place in the job's order (K6). Positional parameters: they bind faster.
    done: db.prepare(
      'UPDATE tasks SET state = 2, output = ?, failures = ?, losses = ?, fin = ?, attempt = ?, volunteer = ?, leased_at = ?, ended_at = ? WHERE job_seq = ? AND idx = ? AND state = 0',
    ),
    failed: db.prepare('UPDATE tasks SET state = 3, error = ?, failures = ?, losses = ?, fin = ? WHERE job_seq = ? AND idx = ? AND state = 0'),
    retry: db.prepare('UPDATE tasks SET failures = ?, losses = ?, error = ? WHERE job_seq = ? AND idx = ? AND state = 0'),

    // ---- claims (K1): what a claim reads; who holds what is in memory (claims.ts). Rows as arrays (raw):
    // better-sqlite3 builds an object row one property at a time, a visible share of a claim's cost.
    scanPending: db.prepare('SELECT idx, input, failures, losses, error FROM tasks WHERE job_seq = ? AND idx > ? AND state = 0 ORDER BY idx LIMIT ?').raw(),
    pendingTask: db.prepare('SELECT idx, input, failures, losses, error FROM tasks WHERE job_seq = ? AND idx = ? AND state = 0').raw(),
    keptReceipt: db.prepare('SELECT batch, receipt FROM commit_receipts WHERE master = ?'),
    keepReceipt: db.prepare('INSERT INTO commit_receipts (master, batch, receipt) VALUES (?, ?, ?) ON CONFLICT (master) DO UPDATE SET batch = excluded.batch, receipt = excluded.receipt'),
    forgetReceipt: db.prepare('DELETE FROM commit_receipts WHERE master = ?'),

    // ---- reads of tasks
    results: db.prepare('SELECT idx, state, output, error FROM tasks WHERE job_seq = ? AND idx > ? AND state >= 2 ORDER BY idx LIMIT ?'),
    resultsSince: db.prepare('SELECT idx, state, output, error, fin FROM tasks WHERE job_seq = ? AND fin > ? ORDER BY fin LIMIT ?'),
    sample: db.prepare('SELECT idx, state, output, error FROM tasks WHERE job_seq = ? AND state = ? ORDER BY idx LIMIT ?'),
    task: db.prepare('SELECT idx, state, input, output, error, failures, losses, attempt, volunteer, leased_at, ended_at FROM tasks WHERE job_seq = ? AND idx = ?'),
    failedIndices: db.prepare('SELECT idx FROM tasks WHERE job_seq = ? AND state = 3'),
    resetFailed: db.prepare('UPDATE tasks SET state = 0, failures = 0, error = NULL, fin = NULL WHERE job_seq = ? AND state = 3'),
    deleteTasks: db.prepare('DELETE FROM tasks WHERE job_seq = ?'),

    // ---- attempts
    insertAttempt: db.prepare('INSERT INTO attempts (job_seq, idx, attempt, volunteer, leased_at, ended_at, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    taskAttempts: db.prepare('SELECT attempt, volunteer, leased_at, ended_at, outcome, error FROM attempts WHERE job_seq = ? AND idx = ? ORDER BY ended_at, rowid'),
    deleteAttempts: db.prepare('DELETE FROM attempts WHERE job_seq = ?'),

    // ---- validation (section V)
    insertReplica: db.prepare(
      'INSERT OR IGNORE INTO replicas (job_seq, attempt, idx, identity, network, kind, ok, hash, output, error, at, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    setVerdict: db.prepare('UPDATE replicas SET verdict = ? WHERE job_seq = ? AND attempt = ?'),
    unsettledVotesOf: db.prepare(
      "SELECT idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict FROM replicas INDEXED BY replicas_task WHERE job_seq = ? AND idx = ? AND kind = 'vote' AND verdict IN ('pending', 'credited', 'seasoning') ORDER BY at, attempt",
    ),
    taskReplicas: db.prepare('SELECT idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict FROM replicas INDEXED BY replicas_task WHERE job_seq = ? AND idx = ? ORDER BY at, attempt'),
    deleteReplicas: db.prepare('DELETE FROM replicas WHERE job_seq = ?'),
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
    deleteChecks: db.prepare('DELETE FROM checks WHERE job_seq = ?'),

    // ---- the cluster's event log (K7), trimmed to its newest rows
    insertEvent: db.prepare('INSERT INTO events (t, master, kind, text, job, volunteer, identity) VALUES (@t, @master, @kind, @text, @job, @volunteer, @identity)'),
    eventsSince: db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
    trimEvents: db.prepare('DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?'),
  };
}

export type Statements = ReturnType<typeof prepare>;
