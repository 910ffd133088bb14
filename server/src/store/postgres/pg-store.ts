/**
 * The PostgreSQL backend of the Store (BARNRAISE_DATABASE_URL). It passes the same contract suite as
 * SQLite; what it adds for several masters on one database (issue 11) is in how it writes:
 * - every statement that changes a task or a job is its own function in ./sql;
 * - a write that ends a task is guarded by `state = 0` in its WHERE clause (rule E1), and `commit`
 *   returns a receipt saying which task writes took effect;
 * - counters change by increments computed in the transaction (`done = done + n`, n counted from the task
 *   rows that statement made final), never by writing absolute values held in memory (increments.ts);
 * - replica rows (section V) are inserted once per attempt: a retried commit adds none.
 * One master per database for now: the claims, fencing by attempt and master liveness of a cluster are
 * not here yet (docs/postgres.md).
 */
import type pg from 'pg';
import type { AttemptEnd } from '../../scheduler/lease.ts';
import type {
  AttemptRecord,
  CommitBatch,
  CommitReceipt,
  FinishedTask,
  IdentityPage,
  IdentityRecord,
  JobPage,
  JobRecord,
  PendingTask,
  RecoveredJob,
  StoredCheck,
  Store,
  TaskDetail,
} from '../store.ts';
import { columns, foldTaskWrites, taskKey } from './batch.ts';
import { DEFAULT_SCHEMA, inTransaction, openPool, type PgOptions } from './connect.ts';
import { baselineOf, JobIncrements, type Baseline } from './increments.ts';
import { migrate } from './migrate.ts';
import { INT4_MAX, int4, pgText, storableId, TaskRowState, toFinished, toIdentity, toPending, toRecord, toReplicaRecord, toVote, type JobRow } from './rows.ts';
import { addJobCounts } from './sql/addJobCounts.ts';
import { checksOf, insertChecks } from './sql/checks.ts';
import { completeTasks, type TaskKeyRow } from './sql/completeTasks.ts';
import { copyTasks } from './sql/copyTasks.ts';
import { deleteAttemptsOfJobs, deleteChecksOfJobs, deleteFinishedJobs, deleteReplicasOfJobs, deleteTasksOfJobs } from './sql/deleteJobs.ts';
import { failTasks } from './sql/failTasks.ts';
import { identitiesByIds, listIdentities, upsertIdentities } from './sql/identities.ts';
import { insertAttempts, type AttemptColumns } from './sql/insertAttempts.ts';
import { insertJob } from './sql/insertJob.ts';
import * as read from './sql/reads.ts';
import { insertReplicas, setVerdicts, taskReplicas, unsettledVotes } from './sql/replicas.ts';
import { reopenJob, resetFailedTasks } from './sql/resetFailed.ts';
import { retryTasks } from './sql/retryTasks.ts';
import { setJobStatus } from './sql/setJobStatus.ts';
import { identityColumns, replicaColumns, verdictColumns } from './validation-batch.ts';

/** Inserts of at least this many tasks refresh the table's statistics. */
const ANALYZE_AFTER = 10_000;

export interface PgStoreOptions extends PgOptions {
  /** Where errors of idle pooled connections go (a restarted server); they are otherwise harmless. */
  onIdleError?: (err: Error) => void;
}

export class PgStore implements Store {
  /** job id -> seq (task rows are keyed by the small seq). Seqs are never reused, so a stale entry finds nothing. */
  private readonly seqs = new Map<string, number>();
  /**
   * job id -> the counters without task rows (requeues, replicas, inconclusive) as this store last wrote or
   * read them. JobProgress carries them as counted in memory; the difference is added in SQL (increments.ts).
   */
  private readonly baselines = new Map<string, Baseline>();

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  /** Connect, bring the schema up to date (safe when several masters start at once), and return the store. */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const schema = opts.schema ?? DEFAULT_SCHEMA;
    const pool = openPool(opts, opts.onIdleError);
    try {
      await migrate(pool, schema);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgStore(pool, schema);
  }

  private async seqOf(jobId: string): Promise<number | undefined> {
    let seq = this.seqs.get(jobId);
    if (seq === undefined && storableId(jobId)) {
      seq = (await read.seqsOf(this.pool, [jobId]))[0]?.seq;
      if (seq !== undefined) this.seqs.set(jobId, seq);
    }
    return seq;
  }

  /** Fill the seq cache for every job a batch names. */
  private async learnSeqs(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.seqs.has(id) && storableId(id));
    if (missing.length === 0) return;
    for (const { id, seq } of await read.seqsOf(this.pool, missing)) this.seqs.set(id, seq);
  }

  async insertJob(spec: JobRecord, inputs: readonly unknown[], checks: readonly StoredCheck[] = []): Promise<void> {
    const seq = await inTransaction(this.pool, async (client) => {
      const seq = await insertJob(client, spec);
      await copyTasks(client, seq, inputs);
      if (checks.length > 0) await insertChecks(client, seq, checks);
      return seq;
    });
    this.seqs.set(spec.id, seq);
    // The row's replicas and inconclusive start at 0, whatever the spec says (as in SQLite).
    this.baselines.set(spec.id, { requeues: spec.requeues, replicas: 0, inconclusive: 0 });
    // Fresh statistics after a large insert: without them the planner takes a new table of a million rows
    // for a few hundred and joins a commit's 2,000 writes by hashing the whole table (87 ms a commit)
    // instead of looking each up by key (13 ms). In the background: the job is durable already.
    if (inputs.length >= ANALYZE_AFTER) void this.pool.query('ANALYZE tasks').catch(() => {});
  }

  /**
   * One transaction: the task writes (folded to one per task, see batch.ts), the replica rows and their
   * verdicts, the identities, the counters all that implies (increments.ts), the jobs' status and
   * timestamps, the attempt rows.
   *
   * Where the interface gives absolute values and how they are handled:
   * - the counters of JobProgress become increments (increments.ts): `done`/`failed` from the task rows
   *   changed, `replicas` from the replica rows inserted, `requeues`/`inconclusive` from the value given
   *   less the one this store last wrote or read;
   * - status and timestamps are absolute by nature: setJobStatus only lets them move forward;
   * - identities are written as given (the master's trust book is authoritative; see upsertIdentities).
   */
  async commit(batch: CommitBatch): Promise<CommitReceipt> {
    const replicaWrites = batch.replicas ?? [];
    const verdictWrites = batch.verdicts ?? [];
    await this.learnSeqs([
      ...batch.tasks.map((w) => w.job),
      ...batch.jobs.map((j) => j.id),
      ...batch.attempts.map((a) => a.job),
      ...replicaWrites.map((r) => r.job),
      ...verdictWrites.map((v) => v.job),
    ]);
    const seqOf = (id: string) => this.seqs.get(id);
    const folded = foldTaskWrites(batch.tasks, seqOf, pgText);
    const replicas = replicaColumns(replicaWrites, seqOf);
    const verdicts = verdictColumns(verdictWrites, seqOf);
    const identities = identityColumns(batch.identities ?? []);
    const jobs = batch.jobs.filter((j) => this.seqs.has(j.id));

    const applied = await inTransaction(this.pool, async (client) => {
      const changed: { done: TaskKeyRow[]; failed: TaskKeyRow[]; retry: TaskKeyRow[] } = { done: [], failed: [], retry: [] };
      if (folded.done.length > 0) changed.done = await completeTasks(client, columns(folded.done));
      if (folded.failed.length > 0) changed.failed = await failTasks(client, columns(folded.failed));
      if (folded.retry.length > 0) changed.retry = await retryTasks(client, columns(folded.retry));
      const inserted = new Map<number, number>();
      if (replicas.columns.jobSeqs.length > 0) {
        for (const r of await insertReplicas(client, replicas.columns)) inserted.set(r.job_seq, (inserted.get(r.job_seq) ?? 0) + 1);
      }
      // After the inserts: a verdict may settle a replica of this same batch.
      if (verdicts.jobSeqs.length > 0) await setVerdicts(client, verdicts);
      if (identities.ids.length > 0) await upsertIdentities(client, identities);

      const inc = new JobIncrements();
      for (const r of changed.done) inc.add(r.job_seq, 'done', 1);
      for (const r of changed.failed) inc.add(r.job_seq, 'failed', 1);
      for (const j of jobs) {
        const seq = seqOf(j.id)!;
        let base = this.baselines.get(j.id);
        const fromRow = base === undefined;
        if (base === undefined) {
          // A job this store never inserted nor loaded (another process made it): its baseline is its row now.
          const row = await read.jobById(client, j.id);
          if (!row) continue;
          base = baselineOf(toRecord(row));
        }
        inc.addProgress(seq, baselineOf(j), base, { inserted: inserted.get(seq) ?? 0, sent: replicas.sent.get(seq) ?? 0 }, fromRow);
      }
      const counts = inc.columns();
      if (counts) await addJobCounts(client, counts);
      if (jobs.length > 0) {
        await setJobStatus(client, { ids: jobs.map((j) => j.id), statuses: jobs.map((j) => j.status), startedAt: jobs.map((j) => j.startedAt), finishedAt: jobs.map((j) => j.finishedAt) });
      }
      if (batch.attempts.length > 0) await insertAttempts(client, this.attemptColumns(batch));
      return [...changed.done, ...changed.failed, ...changed.retry];
    });

    // Only now that it is durable: the next commit's increments count from these values.
    for (const j of jobs) this.baselines.set(j.id, baselineOf(j));
    const receipt: CommitReceipt = { applied: new Array<boolean>(batch.tasks.length).fill(false) };
    for (const r of applied) for (const i of folded.positions.get(taskKey(r.job_seq, r.idx)) ?? []) receipt.applied[i] = true;
    return receipt;
  }

  private attemptColumns(batch: CommitBatch): AttemptColumns {
    const c: AttemptColumns = { jobSeqs: [], indexes: [], attempts: [], volunteers: [], leasedAt: [], endedAt: [], outcomes: [], errors: [] };
    for (const a of batch.attempts) {
      const seq = this.seqs.get(a.job);
      if (seq === undefined || !int4(a.index)) continue;
      c.jobSeqs.push(seq);
      c.indexes.push(a.index);
      c.attempts.push(pgText(a.attempt));
      c.volunteers.push(pgText(a.volunteer));
      c.leasedAt.push(a.leasedAt);
      c.endedAt.push(a.endedAt);
      c.outcomes.push(a.end);
      c.errors.push(a.error === null ? null : pgText(a.error));
    }
    return c;
  }

  async loadUnfinished(): Promise<RecoveredJob[]> {
    const out: RecoveredJob[] = [];
    for (const row of await read.unfinishedJobs(this.pool)) out.push(await this.recovered(row));
    return out;
  }

  async loadJob(jobId: string): Promise<RecoveredJob | undefined> {
    const row = storableId(jobId) ? await read.jobById(this.pool, jobId) : undefined;
    return row && (row.status === 'queued' || row.status === 'running') ? this.recovered(row) : undefined;
  }

  private async recovered(row: JobRow): Promise<RecoveredJob> {
    this.seqs.set(row.id, row.seq);
    // Counts from the task rows, as SQLite does; here the counters are written in the same transactions as
    // the rows, so the two agree, but the rows are the truth.
    const [counts, pending] = await Promise.all([read.countFinal(this.pool, row.seq), read.pendingTasks(this.pool, row.seq)]);
    const record = { ...toRecord(row), done: counts.done, failed: counts.failed };
    this.baselines.set(row.id, baselineOf(record));
    if (!record.validation) return { record, pending: pending.map(toPending) };
    const [votes, checks] = await Promise.all([unsettledVotes(this.pool, row.seq), checksOf(this.pool, row.seq)]);
    return {
      record,
      pending: pending.map(toPending),
      votes: votes.map(toVote),
      checks: checks.map((c): StoredCheck => ({ input: JSON.parse(c.input) as unknown, output: JSON.parse(c.output) as unknown, ...(c.idx === null ? {} : { index: c.idx }) })),
    };
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = storableId(id) ? await read.jobById(this.pool, id) : undefined;
    return row && toRecord(row);
  }

  async listJobs(limit: number, cursor?: string): Promise<JobPage> {
    const parsed = cursor === undefined ? NaN : Number.parseInt(cursor, 10);
    // A cursor beyond any seq reads as "from the newest", one below any as "nothing older".
    const before = Number.isFinite(parsed) ? Math.max(-1, Math.min(parsed, INT4_MAX + 1)) : null;
    const rows = await read.listJobs(this.pool, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: page.map(toRecord), ...(rows.length > limit && last ? { next: String(last.seq) } : {}) };
  }

  async readResults(jobId: string, afterIndex: number, limit: number): Promise<FinishedTask[]> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return [];
    return (await read.finishedAfter(this.pool, seq, Math.max(-1, Math.min(afterIndex, INT4_MAX)), limit)).map(toFinished);
  }

  async sampleResults(jobId: string, status: 'done' | 'failed', limit: number): Promise<FinishedTask[]> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return [];
    return (await read.sampleByState(this.pool, seq, status === 'done' ? TaskRowState.done : TaskRowState.failed, limit)).map(toFinished);
  }

  async taskDetail(jobId: string, index: number): Promise<TaskDetail | undefined> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined || !int4(index)) return undefined;
    const [t, attemptRows, replicaRows] = await Promise.all([
      read.taskRow(this.pool, seq, index),
      read.taskAttempts(this.pool, seq, index),
      taskReplicas(this.pool, seq, index),
    ]);
    if (!t) return undefined;
    const attempts = attemptRows.map(
      (a): AttemptRecord => ({ attempt: a.attempt, volunteer: a.volunteer, leasedAt: Number(a.leased_at), endedAt: Number(a.ended_at), end: a.outcome as AttemptEnd, error: a.error }),
    );
    const state = t.state === TaskRowState.done ? 'done' : t.state === TaskRowState.failed ? 'failed' : 'pending';
    return {
      index: t.idx,
      state,
      input: JSON.parse(t.input) as unknown,
      ...(state === 'done' ? { output: JSON.parse(t.output ?? 'null') as unknown } : {}),
      ...(t.error !== null ? { error: t.error } : {}),
      failures: t.failures,
      losses: t.losses,
      attempts,
      replicas: replicaRows.map(toReplicaRecord),
    };
  }

  async getIdentity(id: string): Promise<IdentityRecord | undefined> {
    return (await this.getIdentities([id]))[0];
  }

  async getIdentities(ids: readonly string[]): Promise<IdentityRecord[]> {
    const wanted = [...new Set(ids)].filter(storableId);
    return wanted.length === 0 ? [] : (await identitiesByIds(this.pool, wanted)).map(toIdentity);
  }

  async listIdentities(offset: number, limit: number): Promise<IdentityPage> {
    // PostgreSQL refuses a negative or fractional LIMIT and OFFSET: read them as the nearest whole count.
    const count = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : 0);
    const { total, rows } = await listIdentities(this.pool, count(offset), count(limit));
    return { total, offset, rows: rows.map(toIdentity) };
  }

  async resetFailed(jobId: string): Promise<PendingTask[]> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return [];
    const reset = await inTransaction(this.pool, async (client) => {
      const rows = await resetFailedTasks(client, seq);
      if (rows.length > 0) await reopenJob(client, seq, rows.length);
      return rows;
    });
    return reset.sort((a, b) => a.idx - b.idx).map((t) => ({ index: t.idx, input: JSON.parse(t.input) as unknown, failures: 0, losses: t.losses, error: null }));
  }

  async deleteFinishedBefore(before: number): Promise<number> {
    const gone = await inTransaction(this.pool, async (client) => {
      const jobs = await deleteFinishedJobs(client, before);
      if (jobs.length > 0) {
        const seqs = jobs.map((j) => j.seq);
        await deleteTasksOfJobs(client, seqs);
        await deleteAttemptsOfJobs(client, seqs);
        await deleteReplicasOfJobs(client, seqs);
        await deleteChecksOfJobs(client, seqs);
      }
      return jobs;
    });
    for (const { id } of gone) {
      this.seqs.delete(id);
      this.baselines.delete(id);
    }
    return gone.length;
  }

  /** Close the pool once the queries in flight are done. */
  async close(): Promise<void> {
    if (!this.pool.ended && !this.pool.ending) await this.pool.end();
  }
}
