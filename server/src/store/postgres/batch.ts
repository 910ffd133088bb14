/**
 * A group commit's task writes, folded to one effective write per task so that each task appears in one
 * set-based statement only (an `UPDATE ... FROM unnest(...)` touches a row once, whatever the join holds).
 *
 * Applied in order one by one (as SQLite does), a task's writes in one batch behave so: retries overwrite
 * the counts and error while the task is pending; the first final write makes it final; anything after
 * that is refused (rule E1). All of them are fenced by the same owner, so they stand or fall together.
 * Folding keeps exactly that: the first final write, carrying the error of the last retry before it (a done
 * write does not set the error itself), or else the last retry.
 */
import type { FinalAttempt, TaskWrite } from '../store.ts';
import { int4 } from './rows.ts';

/** The write that reaches the database for one task. */
export interface EffectiveWrite {
  jobSeq: number;
  index: number;
  kind: TaskWrite['kind'];
  /** Position of the write in the batch: final tasks are numbered in this order (K6). */
  at: number;
  /** JSON text of the output (done). */
  output: string | null;
  /** The error to store; for a done write, the last preceding retry's error, or null to keep the row's. */
  error: string | null;
  failures: number;
  losses: number;
  /** [D6] Done: the attempt that made it so. */
  by: FinalAttempt | undefined;
  /**
   * Receipt bookkeeping: the positions in `batch.tasks` that take effect if this write does (the task's
   * writes up to and including its first final one).
   */
  positions: number[];
}

/** Column arrays for the `unnest(...)` of one statement. */
export interface WriteColumns {
  jobSeqs: number[];
  indexes: number[];
  /** Final writes: the task state they set (2 done, 3 failed). */
  states: number[];
  /** Final writes: the batch position, their order in the job's numbering. */
  ords: number[];
  outputs: (string | null)[];
  errors: (string | null)[];
  failures: number[];
  losses: number[];
  attempts: (string | null)[];
  volunteers: (string | null)[];
  leasedAts: (number | null)[];
  endedAts: (number | null)[];
}

export interface FoldedBatch {
  /** Done and failed writes, by key. */
  final: EffectiveWrite[];
  retry: EffectiveWrite[];
}

export const taskKey = (jobSeq: number, index: number): string => `${jobSeq}:${index}`;

/**
 * Fold `writes` to one write per task. Writes of jobs `seqOf` does not know, and indexes no row can have,
 * are dropped (refused in the receipt).
 */
export function foldTaskWrites(writes: readonly TaskWrite[], seqOf: (jobId: string) => number | undefined, encode: (error: string) => string): FoldedBatch {
  // Keyed by job seq, then index: cheaper than string keys for batches of thousands.
  const byJob = new Map<number, Map<number, EffectiveWrite>>();
  let lastJob: string | undefined;
  let lastSeq: number | undefined;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!;
    // A batch's writes mostly name one job after another: look each up once per run.
    const jobSeq = w.job === lastJob ? lastSeq : seqOf(w.job);
    lastJob = w.job;
    lastSeq = jobSeq;
    if (jobSeq === undefined || !int4(w.index) || w.index < 0) continue;
    let tasks = byJob.get(jobSeq);
    if (!tasks) byJob.set(jobSeq, (tasks = new Map()));
    const prior = tasks.get(w.index);
    if (prior && prior.kind !== 'retry') continue; // after the first final write: refused (E1)
    const output = w.kind === 'done' ? JSON.stringify(w.output ?? null) : null;
    const error = w.kind === 'done' ? (prior?.error ?? null) : w.error === null ? null : encode(w.error);
    const by = w.kind === 'done' && w.by ? { ...w.by, attempt: encode(w.by.attempt), volunteer: encode(w.by.volunteer) } : undefined;
    const positions = prior ? prior.positions : [];
    positions.push(i);
    tasks.set(w.index, { jobSeq, index: w.index, kind: w.kind, at: i, output, error, failures: w.failures, losses: w.losses, by, positions });
  }
  const folded: FoldedBatch = { final: [], retry: [] };
  // In key order: rows are locked in one order by every commit, which keeps deadlocks between them rare.
  for (const seq of [...byJob.keys()].sort((a, b) => a - b)) {
    const tasks = byJob.get(seq)!;
    for (const index of [...tasks.keys()].sort((a, b) => a - b)) {
      const w = tasks.get(index)!;
      (w.kind === 'retry' ? folded.retry : folded.final).push(w);
    }
  }
  return folded;
}

/** The columns of `writes`, for one statement's parameters. */
export function columns(writes: readonly EffectiveWrite[]): WriteColumns {
  const c: WriteColumns = { jobSeqs: [], indexes: [], states: [], ords: [], outputs: [], errors: [], failures: [], losses: [], attempts: [], volunteers: [], leasedAts: [], endedAts: [] };
  for (const w of writes) {
    c.jobSeqs.push(w.jobSeq);
    c.indexes.push(w.index);
    c.states.push(w.kind === 'failed' ? 3 : 2);
    c.ords.push(w.at);
    c.outputs.push(w.output);
    c.errors.push(w.error);
    c.failures.push(w.failures);
    c.losses.push(w.losses);
    c.attempts.push(w.by?.attempt ?? null);
    c.volunteers.push(w.by?.volunteer ?? null);
    c.leasedAts.push(w.by?.leasedAt ?? null);
    c.endedAts.push(w.by?.endedAt ?? null);
  }
  return c;
}
