/**
 * SQLite backend (better-sqlite3, WAL). Writes come in group commits from the writer, so the per-transaction
 * fsync (synchronous=FULL: a power cut cannot lose an acknowledged result) is paid once per batch, not once
 * per task. It keeps the same claims, fences and beats as the PostgreSQL backend (SPEC.md K), so one master
 * runs the same way on either; several masters need PostgreSQL (one SQLite file is one machine's).
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { AttemptEnd } from '../../scheduler/lease.ts';
import type {
  AttemptRecord,
  ClaimedTask,
  ClusterEvent,
  CommitBatch,
  CommitReceipt,
  FinishedTask,
  FinishedTaskAt,
  IdentityPage,
  IdentityRecord,
  JobCounters,
  JobPage,
  JobRecord,
  MasterRow,
  MasterStats,
  Owner,
  StoredCheck,
  Store,
  TaskDetail,
} from '../store.ts';
import { applyCommit } from './commit.ts';
import { ClaimBook } from './claims.ts';
import { decodeReceipt, encodeReceipt, receiptKey } from '../receipts.ts';
import { MIGRATIONS } from './schema.ts';
import { DONE, FAILED, toCounters, toFinished, toIdentity, toRecord, toReplica, toVote, type IdentityRow, type JobRow, type ReplicaRow, type ResultRow } from './rows.ts';
import { prepare, TASK_ROWS, type Statements } from './statements.ts';

/** Lines of the cluster event log kept. */
const EVENTS_KEPT = 5000;

export interface SqliteOptions {
  /** Database file; ':memory:' for tests that need no durability. */
  file: string;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** job id -> seq, to keep task keys small. Bounded by the jobs on disk. */
  private readonly seqs = new Map<string, number>();
  private readonly s: Statements;
  /** Claims and masters' beats (K1-K3), in memory: this process owns the file. */
  private readonly claims = new ClaimBook();

  constructor(opts: SqliteOptions) {
    if (opts.file !== ':memory:') fs.mkdirSync(path.dirname(opts.file), { recursive: true });
    this.db = new Database(opts.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.s = prepare(this.db);
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
      seq = (this.s.seqOf.get(jobId) as { seq: number } | undefined)?.seq;
      if (seq !== undefined) this.seqs.set(jobId, seq);
    }
    return seq;
  }

  async insertJob(spec: JobRecord, inputs: readonly unknown[], checks: readonly StoredCheck[] = []): Promise<void> {
    this.db.transaction(() => {
      const { lastInsertRowid } = this.s.insertJob.run({
        ...spec,
        validation: spec.validation ? JSON.stringify(spec.validation) : null,
        assets: spec.assets?.length ? JSON.stringify(spec.assets) : null,
      });
      const seq = Number(lastInsertRowid);
      insertInputs(this.s, seq, inputs);
      checks.forEach((c, k) => this.s.insertCheck.run(seq, k, c.index ?? null, JSON.stringify(c.input ?? null), JSON.stringify(c.output ?? null)));
      this.seqs.set(spec.id, seq);
    })();
  }

  async commit(batch: CommitBatch): Promise<CommitReceipt> {
    return this.transaction((after) => {
      const key = receiptKey(batch.owner);
      if (batch.id !== undefined) {
        const kept = this.s.keptReceipt.get(key) as { batch: string; receipt: string } | undefined;
        if (kept?.batch === batch.id) return decodeReceipt(kept.receipt);
      }
      const { receipt, ended } = applyCommit(this.s, (id) => this.seq(id), batch, this.claims);
      if (batch.id !== undefined) this.s.keepReceipt.run(key, batch.id, encodeReceipt(receipt));
      // What it made final leaves the claims once the transaction has committed.
      after(() => {
        for (const [seq, index] of ended) this.claims.ended(seq, index);
      });
      return receipt;
    });
  }

  /**
   * A transaction whose effects on the claims (memory, not the file) apply only once it has committed. The
   * COMMIT itself can fail (SQLITE_FULL on a full disk, after every statement ran): the rows roll back, and
   * claims changed inside would be lost with them, leaving tasks pending in the file that no claim could
   * reach again (a job that never completes once the disk has room).
   */
  private transaction<T>(fn: (after: (effect: () => void) => void) => T): T {
    const effects: Array<() => void> = [];
    const result = this.db.transaction(() => fn((effect) => effects.push(effect)))();
    for (const effect of effects) effect();
    return result;
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = this.s.getJob.get(id) as JobRow | undefined;
    return row && toRecord(row);
  }

  async listJobs(limit: number, cursor?: string): Promise<JobPage> {
    const before = cursor === undefined ? undefined : Number.parseInt(cursor, 10);
    const rows = (before === undefined || !Number.isFinite(before) ? this.s.listFirst.all(limit + 1) : this.s.listAfter.all(before, limit + 1)) as JobRow[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: page.map(toRecord), ...(rows.length > limit && last ? { next: String(last.seq) } : {}) };
  }

  async activeJobs(): Promise<JobCounters[]> {
    return (this.s.activeJobs.all() as JobRow[]).map(toCounters);
  }

  async jobChecks(jobId: string): Promise<StoredCheck[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.s.checks.all(seq) as Array<{ idx: number | null; input: string; output: string }>).map(
      (c): StoredCheck => ({ input: JSON.parse(c.input) as unknown, output: JSON.parse(c.output) as unknown, ...(c.idx === null ? {} : { index: c.idx }) }),
    );
  }

  async cancelJob(jobId: string, at: number): Promise<JobCounters | undefined> {
    const seq = this.seq(jobId);
    if (seq === undefined) return undefined;
    return this.transaction((after) => {
      if (this.s.cancelJob.run(at, seq).changes > 0) after(() => this.claims.releaseJob(seq));
      return toCounters(this.s.jobBySeq.get(seq) as JobRow);
    });
  }

  async readResults(jobId: string, afterIndex: number, limit: number): Promise<FinishedTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.s.results.all(seq, afterIndex, limit) as ResultRow[]).map(toFinished);
  }

  async resultsSince(jobId: string, afterFin: number, limit: number): Promise<FinishedTaskAt[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.s.resultsSince.all(seq, afterFin, limit) as ResultRow[]).map((r) => ({ ...toFinished(r), fin: r.fin! }));
  }

  async sampleResults(jobId: string, status: 'done' | 'failed', limit: number): Promise<FinishedTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined) return [];
    return (this.s.sample.all(seq, status === 'done' ? DONE : FAILED, limit) as ResultRow[]).map(toFinished);
  }

  async taskDetail(jobId: string, index: number): Promise<TaskDetail | undefined> {
    const seq = this.seq(jobId);
    if (seq === undefined) return undefined;
    const t = this.s.task.get(seq, index) as
      | { idx: number; state: number; input: string; output: string | null; error: string | null; failures: number; losses: number; attempt: string | null; volunteer: string | null; leased_at: number | null; ended_at: number | null }
      | undefined;
    if (!t) return undefined;
    const attempts = (this.s.taskAttempts.all(seq, index) as Array<{ attempt: string; volunteer: string; leased_at: number; ended_at: number; outcome: string; error: string | null }>).map(
      (a): AttemptRecord => ({ attempt: a.attempt, volunteer: a.volunteer, leasedAt: a.leased_at, endedAt: a.ended_at, end: a.outcome as AttemptEnd, error: a.error }),
    );
    // [D6] The attempt that made it done is on the task's row: it ended last.
    if (t.attempt !== null) attempts.push({ attempt: t.attempt, volunteer: t.volunteer ?? '', leasedAt: t.leased_at ?? 0, endedAt: t.ended_at ?? 0, end: 'done', error: null });
    const state = t.state === DONE ? 'done' : t.state === FAILED ? 'failed' : 'pending';
    return {
      index: t.idx,
      state,
      input: JSON.parse(t.input) as unknown,
      ...(state === 'done' ? { output: JSON.parse(t.output ?? 'null') as unknown } : {}),
      ...(t.error !== null ? { error: t.error } : {}),
      failures: t.failures,
      losses: t.losses,
      attempts,
      replicas: (this.s.taskReplicas.all(seq, index) as ReplicaRow[]).map(toReplica),
    };
  }

  async resetFailed(jobId: string): Promise<number> {
    const seq = this.seq(jobId);
    if (seq === undefined) return 0;
    return this.transaction((after) => {
      const failed = (this.s.failedIndices.all(seq) as Array<{ idx: number }>).map((r) => r.idx);
      if (failed.length === 0) return 0;
      this.s.resetFailed.run(seq);
      this.s.reopenJob.run(failed.length, seq);
      after(() => {
        for (const index of failed) this.claims.returnTask(seq, index);
      });
      return failed.length;
    });
  }

  async claimTasks(jobId: string, owner: Owner, n: number): Promise<ClaimedTask[]> {
    const seq = this.seq(jobId);
    if (seq === undefined || n <= 0) return [];
    const row = this.s.jobBySeq.get(seq) as JobRow | undefined;
    // Only a job still to be done has tasks to claim (a cancelled one keeps its pending tasks, unclaimed).
    if (!row || (row.status !== 'queued' && row.status !== 'running')) return [];
    const validated = row.validation != null;
    type Row = [idx: number, input: string, failures: number, losses: number, error: string | null];
    return this.db.transaction(() => {
      const rows: Row[] = [];
      for (const index of this.claims.takeReturned(seq, n)) {
        const r = this.s.pendingTask.get(seq, index) as Row | undefined;
        if (r) rows.push(r);
      }
      let scannedTo: number | undefined;
      if (rows.length < n) {
        const more = this.s.scanPending.all(seq, this.claims.cursor(seq), n - rows.length) as Row[];
        if (more.length > 0) scannedTo = more[more.length - 1]![0];
        for (const r of more) rows.push(r);
      }
      this.claims.hold(seq, owner, rows.map((r) => r[0]), scannedTo);
      return rows.map(([index, input, failures, losses, error]): ClaimedTask => {
        const task: ClaimedTask = { index, input: JSON.parse(input) as unknown, failures, losses, error };
        if (validated) task.votes = (this.s.unsettledVotesOf.all(seq, index) as ReplicaRow[]).map(toVote);
        return task;
      });
    })();
  }

  async releaseTasks(jobId: string, owner: Owner, indices: readonly number[]): Promise<number> {
    const seq = this.seq(jobId);
    if (seq === undefined) return 0;
    return this.claims.release(seq, owner, indices);
  }

  async releaseClaims(master: string, beforeGen?: number): Promise<number> {
    return this.claims.releaseWhere((h) => h.master === master && (beforeGen === undefined || h.gen < beforeGen));
  }

  async beat(owner: Owner, url: string, stats: MasterStats): Promise<number> {
    const at = Date.now();
    this.claims.beat(owner, url, stats, at);
    return at;
  }

  async sweep(ttlMs: number): Promise<string[]> {
    const silent = this.claims.sweep(Date.now() - ttlMs);
    this.db.transaction(() => {
      for (const id of silent) this.s.forgetReceipt.run(id);
      this.s.trimEvents.run(EVENTS_KEPT);
    })();
    return silent;
  }

  async liveMasters(ttlMs: number): Promise<MasterRow[]> {
    return this.claims.liveMasters(Date.now() - ttlMs);
  }

  async eventsSince(afterSeq: number, limit: number): Promise<Array<ClusterEvent & { seq: number }>> {
    return (this.s.eventsSince.all(afterSeq, limit) as Array<ClusterEvent & { seq: number; job: string | null; volunteer: string | null; identity: string | null }>).map(
      ({ job, volunteer, identity, ...rest }) => ({ ...rest, ...(job === null ? {} : { job }), ...(volunteer === null ? {} : { volunteer }), ...(identity === null ? {} : { identity }) }),
    );
  }

  async getIdentity(id: string): Promise<IdentityRecord | undefined> {
    const row = this.s.getIdentity.get(id) as IdentityRow | undefined;
    return row && toIdentity(row);
  }

  async getIdentities(ids: readonly string[]): Promise<IdentityRecord[]> {
    const out: IdentityRecord[] = [];
    for (const id of new Set(ids)) {
      const row = this.s.getIdentity.get(id) as IdentityRow | undefined;
      if (row) out.push(toIdentity(row));
    }
    return out;
  }

  async listIdentities(offset: number, limit: number): Promise<IdentityPage> {
    const total = (this.s.countIdentities.get() as { n: number }).n;
    return { total, offset, rows: (this.s.listIdentities.all(limit, offset) as IdentityRow[]).map(toIdentity) };
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    const old = this.s.oldJobs.all(before) as Array<{ seq: number; id: string }>;
    this.transaction((after) => {
      for (const { seq, id } of old) {
        this.s.deleteTasks.run(seq);
        this.s.deleteAttempts.run(seq);
        this.s.deleteReplicas.run(seq);
        this.s.deleteChecks.run(seq);
        this.s.deleteJob.run(seq);
        after(() => {
          this.seqs.delete(id);
          this.claims.forget(seq);
        });
      }
    });
    return old.length;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** A job's inputs as task rows: TASK_ROWS a statement, then the rest one by one. */
function insertInputs(s: Statements, seq: number, inputs: readonly unknown[]): void {
  const whole = inputs.length - (inputs.length % TASK_ROWS);
  const args: unknown[] = [];
  for (let i = 0; i < whole; i += TASK_ROWS) {
    args.length = 0;
    for (let k = i; k < i + TASK_ROWS; k++) args.push(seq, k, JSON.stringify(inputs[k] ?? null));
    s.insertTasks.run(args);
  }
  for (let i = whole; i < inputs.length; i++) s.insertTask.run(seq, i, JSON.stringify(inputs[i] ?? null));
}
