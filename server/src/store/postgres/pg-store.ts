/**
 * The PostgreSQL backend of the Store (BARNRAISE_DATABASE_URL): the cluster store, where several masters
 * share one database (SPEC.md K). It passes the same contract suite as SQLite; what several masters writing
 * at once need is in how it writes (docs/postgres.md):
 * - claims take tasks in batches with FOR UPDATE SKIP LOCKED (sql/claims.ts);
 * - a commit is one transaction, fenced by the writer's claims, with receipts (commit.ts);
 * - counters change by increments, final tasks are numbered gapless in commit order under the job's row
 *   lock, identities change by events under their row locks;
 * - liveness is on the database's clock, and one master sweeps at a time (advisory lock).
 * Every statement is a function of its own in ./sql.
 */
import type pg from 'pg';
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
import { decodeReceipt, encodeReceipt, receiptKey } from '../receipts.ts';
import { applyCommit } from './commit.ts';
import { DEFAULT_SCHEMA, inTransaction, openPool, type PgOptions } from './connect.ts';
import { JobsListener } from './listen.ts';
import { migrate } from './migrate.ts';
import { INT4_MAX, int4, pgText, storableId, TaskRowState, toCounters, toFinished, toIdentity, toMaster, toRecord, toReplicaRecord, toVote } from './rows.ts';
import { checksOf, insertChecks } from './sql/checks.ts';
import { claimRange, claimReturned, releaseClaims, releaseOrphanClaims, releaseTasks } from './sql/claims.ts';
import { copyTasks } from './sql/copyTasks.ts';
import { deleteAttemptsOfJobs, deleteChecksOfJobs, deleteFinishedJobs, deleteReplicasOfJobs, deleteTasksOfJobs } from './sql/deleteJobs.ts';
import { eventsSince, trimEvents } from './sql/events.ts';
import { identitiesByIds, listIdentities } from './sql/identities.ts';
import { insertJob } from './sql/insertJob.ts';
import { notifyJobs } from './sql/notifyJobs.ts';
import { cancelJob, lockJobs } from './sql/jobs.ts';
import { beat, deleteSilentMasters, liveMasters, trySweepLock } from './sql/masters.ts';
import * as read from './sql/reads.ts';
import { forgetReceipts, keepReceipt, lockReceipt } from './sql/receipts.ts';
import { taskReplicas, unsettledVotes } from './sql/replicas.ts';
import { reopenJob, resetFailedTasks } from './sql/resetFailed.ts';

/** Inserts of at least this many tasks refresh the table's statistics. */
const ANALYZE_AFTER = 10_000;
/** Lines of the cluster event log kept. */
const EVENTS_KEPT = 5000;
/** The sweep's advisory lock: this class and the schema's hash (the migrations' lock is another class). */
export const SWEEP_LOCK_CLASS = 0x62727377; // 'brsw'

export interface PgStoreOptions extends PgOptions {
  /** Where errors of idle pooled connections go (a restarted server); they are otherwise harmless. */
  onIdleError?: (err: Error) => void;
}

/** A cursor or count from outside as a whole number PostgreSQL takes. */
const whole = (n: number, min: number, max: number) => (Number.isFinite(n) ? Math.max(min, Math.min(Math.trunc(n), max)) : min);

export class PgStore implements Store {
  /** job id -> seq (task rows are keyed by the small seq). Seqs are never reused, so a stale entry finds nothing. */
  private readonly seqs = new Map<string, number>();

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    private readonly url: string,
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
    return new PgStore(pool, schema, opts.url);
  }

  private async seqOf(jobId: string): Promise<number | undefined> {
    let seq = this.seqs.get(jobId);
    if (seq === undefined && storableId(jobId)) {
      seq = (await read.seqsOf(this.pool, [jobId]))[0]?.seq;
      if (seq !== undefined) this.seqs.set(jobId, seq);
    }
    return seq;
  }

  /** Fill the seq cache for every job a batch names (jobs another master made are learned here). */
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
      await notifyJobs(client, this.schema);
      return seq;
    });
    this.seqs.set(spec.id, seq);
    // Fresh statistics after a large insert: without them the planner takes a new table of a million rows
    // for a few hundred and joins a commit's 2,000 writes by hashing the whole table (87 ms a commit)
    // instead of looking each up by key (13 ms). In the background: the job is durable already.
    if (inputs.length >= ANALYZE_AFTER) void this.pool.query('ANALYZE tasks').catch(() => {});
  }

  async commit(batch: CommitBatch): Promise<CommitReceipt> {
    await this.learnSeqs([
      ...batch.tasks.map((w) => w.job),
      ...batch.jobs.map((j) => j.id),
      ...batch.attempts.map((a) => a.job),
      ...(batch.replicas ?? []).map((r) => r.job),
      ...(batch.verdicts ?? []).map((v) => v.job),
    ]);
    const key = pgText(receiptKey(batch.owner));
    return inTransaction(this.pool, async (client) => {
      if (batch.id !== undefined) {
        const kept = await lockReceipt(client, key);
        if (kept.batch === batch.id) return decodeReceipt(kept.receipt);
      }
      const receipt = await applyCommit(client, (id) => this.seqs.get(id), batch);
      if (batch.id !== undefined) await keepReceipt(client, key, pgText(batch.id), encodeReceipt(receipt));
      return receipt;
    });
  }

  async claimTasks(jobId: string, owner: Owner, n: number): Promise<ClaimedTask[]> {
    const seq = await this.seqOf(jobId);
    const count = whole(n, 0, INT4_MAX);
    if (seq === undefined || count === 0) return [];
    const master = pgText(owner.master);
    // Tasks handled one by one before (given back, freed, reset) first, then fresh ranges. A range may hold
    // fewer pending tasks than indices (tasks final or handled one by one before it, as in a job claimed
    // before migration 8): more ranges then, while the cursor moves, since a short claim tells the scheduler
    // the job has nothing left (K1). Bounded: the cursor reaches the job's end.
    const returned = await claimReturned(this.pool, seq, master, owner.gen, count);
    const tasks = returned.map((r): ClaimedTask => ({ index: r.idx, input: JSON.parse(r.input) as unknown, failures: r.failures, losses: r.losses, error: r.error }));
    let validated = returned[0]?.validated ?? false;
    for (let k = 0; k < 64 && tasks.length < count; k++) {
      const range = await claimRange(this.pool, seq, master, owner.gen, count - tasks.length);
      for (const t of range.tasks) tasks.push(t);
      validated ||= range.validated;
      if (!range.ranged) break;
    }
    if (tasks.length === 0) return [];
    // Returned tasks and ranges, each in index order: in index order together.
    if (returned.length > 0) tasks.sort((a, b) => a.index - b.index);
    // A validated job's tasks come with their unsettled votes, read once the claim is committed: a vote
    // committed by the task's previous holder is visible by then (votes lock the task they are about).
    if (validated) {
      const votes = new Map<number, ClaimedTask['votes']>(tasks.map((t) => [t.index, []]));
      for (const v of await unsettledVotes(this.pool, seq, tasks.map((t) => t.index))) votes.get(v.idx)?.push(toVote(v));
      for (const t of tasks) t.votes = votes.get(t.index)!;
    }
    return tasks;
  }

  async releaseTasks(jobId: string, owner: Owner, indices: readonly number[]): Promise<number> {
    const seq = await this.seqOf(jobId);
    const wanted = indices.filter(int4);
    if (seq === undefined || wanted.length === 0) return 0;
    return releaseTasks(this.pool, seq, wanted, pgText(owner.master), owner.gen);
  }

  async releaseClaims(master: string, beforeGen?: number): Promise<number> {
    return releaseClaims(this.pool, pgText(master), beforeGen ?? null);
  }

  async beat(owner: Owner, url: string, stats: MasterStats): Promise<number> {
    return beat(this.pool, pgText(owner.master), owner.gen, pgText(url), JSON.stringify(stats));
  }

  /** [K2] One sweeper at a time (the others return []): silent masters go, with their claims and any orphaned claim. */
  async sweep(ttlMs: number): Promise<string[]> {
    return inTransaction(this.pool, async (client) => {
      if (!(await trySweepLock(client, SWEEP_LOCK_CLASS, this.schema))) return [];
      const dead = await deleteSilentMasters(client, Math.max(0, Math.trunc(ttlMs)));
      await forgetReceipts(client, dead);
      await releaseOrphanClaims(client);
      await trimEvents(client, EVENTS_KEPT);
      return dead;
    });
  }

  async liveMasters(ttlMs: number): Promise<MasterRow[]> {
    return (await liveMasters(this.pool, Math.max(0, Math.trunc(ttlMs)))).map(toMaster);
  }

  async eventsSince(afterSeq: number, limit: number): Promise<Array<ClusterEvent & { seq: number }>> {
    const rows = await eventsSince(this.pool, whole(afterSeq, -1, Number.MAX_SAFE_INTEGER), whole(limit, 0, INT4_MAX));
    return rows.map((r) => ({
      seq: Number(r.seq),
      t: Number(r.t),
      master: r.master,
      kind: r.kind,
      text: r.text,
      ...(r.job === null ? {} : { job: r.job }),
      ...(r.volunteer === null ? {} : { volunteer: r.volunteer }),
      ...(r.identity === null ? {} : { identity: r.identity }),
    }));
  }

  async activeJobs(): Promise<JobCounters[]> {
    return (await read.activeJobs(this.pool)).map(toCounters);
  }

  async jobChecks(jobId: string): Promise<StoredCheck[]> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return [];
    return (await checksOf(this.pool, seq)).map((c): StoredCheck => ({ input: JSON.parse(c.input) as unknown, output: JSON.parse(c.output) as unknown, ...(c.idx === null ? {} : { index: c.idx }) }));
  }

  async cancelJob(jobId: string, at: number): Promise<JobCounters | undefined> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return undefined;
    const row = await inTransaction(this.pool, async (client) => {
      const row = await cancelJob(client, seq, at);
      if (row) await notifyJobs(client, this.schema);
      return row;
    });
    return row && toCounters(row);
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
    return (await read.finishedAfter(this.pool, seq, whole(afterIndex, -1, INT4_MAX), limit)).map(toFinished);
  }

  async resultsSince(jobId: string, afterFin: number, limit: number): Promise<FinishedTaskAt[]> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return [];
    const rows = await read.finishedSince(this.pool, seq, whole(afterFin, -1, Number.MAX_SAFE_INTEGER), whole(limit, 0, INT4_MAX));
    return rows.map((r) => ({ ...toFinished(r), fin: Number(r.fin) }));
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
    // [D6] The attempt that made it done is on the task's row: it ended last.
    if (t.attempt !== null) attempts.push({ attempt: t.attempt, volunteer: t.volunteer ?? '', leasedAt: Number(t.leased_at ?? 0), endedAt: Number(t.ended_at ?? 0), end: 'done', error: null });
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

  async resetFailed(jobId: string): Promise<number> {
    const seq = await this.seqOf(jobId);
    if (seq === undefined) return 0;
    return inTransaction(this.pool, async (client) => {
      await lockJobs(client, [seq]); // the job row before its task rows, as commits lock them
      const n = await resetFailedTasks(client, seq);
      if (n > 0) {
        await reopenJob(client, seq, n);
        await notifyJobs(client, this.schema);
      }
      return n;
    });
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
    const { total, rows } = await listIdentities(this.pool, whole(offset, 0, Number.MAX_SAFE_INTEGER), whole(limit, 0, Number.MAX_SAFE_INTEGER));
    return { total, offset, rows: rows.map(toIdentity) };
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
    for (const { id } of gone) this.seqs.delete(id);
    return gone.length;
  }

  /** [K7] Hear the job changes the other masters make (listen.ts): `onChange` may be called more than once per change. */
  watchJobs(onChange: () => void, onError?: (err: Error) => void): JobsListener {
    return new JobsListener({ url: this.url, schema: this.schema, onChange, ...(onError ? { onError } : {}) });
  }

  /** Close the pool once the queries in flight are done. */
  async close(): Promise<void> {
    if (!this.pool.ended && !this.pool.ending) await this.pool.end();
  }
}
