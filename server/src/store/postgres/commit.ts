/**
 * One group commit in one PostgreSQL transaction (rule D2), fenced by the writing master's claims (K4), safe
 * with several masters committing at once:
 * 1. what takes no task or job lock: attempt rows, event lines, identities by events (identity-events.ts);
 * 2. the job rows the batch touches are held FOR KEY SHARE, in seq order: every writer of task rows holds
 *    the job first (a cancel, a reset), so none deadlock, and commits of several masters on one job go on
 *    side by side;
 * 3. votes and verdicts (they need the task still pending and held), then the task writes, each one
 *    set-based statement for the batch (taskWrites.ts): the bulk of a commit's work, not queued behind the
 *    other masters' commits;
 * 4. one statement (closeJobs): the job rows locked FOR NO KEY UPDATE, in seq order (commits on one job
 *    queue there from here to COMMIT, so each job's run of final tasks, fins.ts, is numbered on from the last
 *    and becomes visible in number order, K6); each job's counters by increments, `done`/`failed` from the
 *    rows the writes changed and the rest from the batch's JobDelta, and the status they imply (K5: a job
 *    completes in the commit of its last final task), computed from the row as locked; and the runs.
 */
import type { AttemptWrite, CommitBatch, CommitReceipt, JobCounters } from '../store.ts';
import { columns, foldTaskWrites, taskKey, type EffectiveWrite } from './batch.ts';
import type { Queryable } from './connect.ts';
import { finalRuns } from './fins.ts';
import { applyIdentityEvents } from './identity-events.ts';
import { int4, pgText, toCounters } from './rows.ts';
import { insertEvents } from './sql/events.ts';
import { insertAttempts, type AttemptColumns } from './sql/insertAttempts.ts';
import { closeJobs, shareJobs, type JobChanges } from './sql/jobs.ts';
import { insertReplicas, setVerdicts } from './sql/replicas.ts';
import { finishTasks, retryTasks, type Fence } from './sql/taskWrites.ts';
import { replicaColumns, verdictColumns } from './validation-batch.ts';

/** What one commit adds to one job. */
interface JobTally {
  done: number;
  failed: number;
  requeues: number;
  replicas: number;
  inconclusive: number;
  startedAt: number | undefined;
}

/** Apply `batch` on `db`, inside the caller's transaction. `seqOf` knows the seq of every job the batch names that exists. */
export async function applyCommit(db: Queryable, seqOf: (jobId: string) => number | undefined, batch: CommitBatch): Promise<CommitReceipt> {
  const fence: Fence = batch.owner ? { master: pgText(batch.owner.master), gen: batch.owner.gen } : { master: null, gen: null };
  const at = batch.at ?? Date.now();

  // Every job a task write or a delta names, in order of first mention (the receipt's order).
  const tallies = new Map<number, JobTally>();
  const tally = (seq: number): JobTally => {
    let t = tallies.get(seq);
    if (!t) tallies.set(seq, (t = { done: 0, failed: 0, requeues: 0, replicas: 0, inconclusive: 0, startedAt: undefined }));
    return t;
  };
  for (const w of batch.tasks) {
    const seq = seqOf(w.job);
    if (seq !== undefined) tally(seq);
  }
  for (const d of batch.jobs) {
    const seq = seqOf(d.id);
    if (seq === undefined) continue;
    const t = tally(seq);
    t.requeues += d.requeues;
    t.replicas += d.replicas;
    t.inconclusive += d.inconclusive;
    if (d.startedAt !== undefined) t.startedAt = Math.min(t.startedAt ?? d.startedAt, d.startedAt);
  }
  // All of this before the jobs are locked, so that commits on one job queue for as short a time as can be.
  const folded = foldTaskWrites(batch.tasks, seqOf, pgText);
  const [retries, finals] = [columns(folded.retry), columns(folded.final)];
  const replicas = replicaColumns(batch.replicas ?? [], seqOf);
  const verdicts = verdictColumns(batch.verdicts ?? [], seqOf);
  const attempts = attemptColumns(batch.attempts, seqOf);
  if (attempts.jobSeqs.length > 0) await insertAttempts(db, attempts);
  if (batch.events && batch.events.length > 0) await insertEvents(db, batch.events);
  const identities = await applyIdentityEvents(db, batch.identities ?? []);

  const jobSeqs = [...tallies.keys()].sort((a, b) => a - b);
  if (jobSeqs.length > 0) await shareJobs(db, jobSeqs);

  // Votes first: they need their task still pending (a final write in this batch may end it).
  const votes = new Array<boolean>(batch.replicas?.length ?? 0).fill(false);
  if (replicas.positions.length > 0) for (const p of await insertReplicas(db, replicas, fence)) votes[p] = true;
  if (verdicts.jobSeqs.length > 0) await setVerdicts(db, verdicts, fence);

  const applied = new Array<boolean>(batch.tasks.length).fill(false);
  const mark = (w: EffectiveWrite) => {
    for (const i of w.positions) applied[i] = true;
  };
  if (retries.jobSeqs.length > 0) {
    const byKey = new Map(folded.retry.map((w) => [taskKey(w.jobSeq, w.index), w]));
    for (const r of await retryTasks(db, retries, fence)) mark(byKey.get(taskKey(r.job_seq, r.idx))!);
  }
  let refusedAt = (_k: number) => false;
  if (finals.jobSeqs.length > 0) {
    const { counts, missed } = await finishTasks(db, finals, fence);
    // Every final write took effect but those the guard refused (usually none).
    const refused = new Set(missed.map((r) => taskKey(r.job_seq, r.idx)));
    if (refused.size > 0) refusedAt = (k) => refused.has(taskKey(finals.jobSeqs[k]!, finals.indexes[k]!));
    folded.final.forEach((w, k) => refusedAt(k) || mark(w));
    for (const c of counts) {
      const t = tally(c.job_seq);
      t.done += c.done;
      t.failed += c.failed;
    }
  }

  // Runs numbered from 0: closeJobs numbers them on from each job's `fin` under its lock.
  const runs = finals.jobSeqs.length > 0 ? finalRuns(finals, new Map(jobSeqs.map((seq) => [seq, 0])), refusedAt) : [];
  const jobs: JobCounters[] = [];
  if (jobSeqs.length > 0) {
    const bySeq = new Map((await closeJobs(db, jobChanges(tallies), runs, at)).map((r) => [r.seq, r]));
    for (const seq of tallies.keys()) {
      const row = bySeq.get(seq);
      if (row) jobs.push(toCounters(row));
    }
  }
  return { applied, votes, jobs, identities };
}

/** What this commit adds to each touched job; closeJobs applies it to the row as locked. */
function jobChanges(tallies: Map<number, JobTally>): JobChanges {
  const c: JobChanges = { seqs: [], done: [], failed: [], requeues: [], replicas: [], inconclusive: [], startedAt: [] };
  for (const [seq, t] of tallies) {
    c.seqs.push(seq);
    c.done.push(t.done);
    c.failed.push(t.failed);
    c.requeues.push(t.requeues);
    c.replicas.push(t.replicas);
    c.inconclusive.push(t.inconclusive);
    c.startedAt.push(t.startedAt ?? null);
  }
  return c;
}

function attemptColumns(attempts: readonly AttemptWrite[], seqOf: (jobId: string) => number | undefined): AttemptColumns {
  const c: AttemptColumns = { jobSeqs: [], indexes: [], attempts: [], volunteers: [], leasedAt: [], endedAt: [], outcomes: [], errors: [] };
  for (const a of attempts) {
    const seq = seqOf(a.job);
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
