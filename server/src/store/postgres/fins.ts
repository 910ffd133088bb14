/**
 * [K6] Numbering a commit's final writes in their jobs' commit order: pure, no database. Each job's writes
 * are numbered on from its `fin` as read under its row lock (the base), in batch order (`ords`); the writes
 * the guard refused give their numbers up, so that what took effect follows on without gaps, and it becomes
 * one run of the job's `finals` (migrations/009_finals.sql).
 */
import type { WriteColumns } from './batch.ts';

/** Each locked job's `fin` before this commit. */
export interface FinBases {
  seqs: number[];
  fins: number[];
}

type Numbered = Pick<WriteColumns, 'jobSeqs' | 'indexes' | 'ords'>;

/** Positions of `w`'s rows by job, then batch order: the order numbers are given in. */
function numberingOrder(w: Pick<WriteColumns, 'jobSeqs' | 'ords'>): number[] {
  return w.ords.map((_, k) => k).sort((a, b) => w.jobSeqs[a]! - w.jobSeqs[b]! || w.ords[a]! - w.ords[b]!);
}

const baseOf = (bases: FinBases): Map<number, number> => new Map(bases.seqs.map((seq, k) => [seq, bases.fins[k]!]));

/**
 * Each write's number if every write takes effect (they usually all do): its job's base plus its place
 * among the job's writes. Counted here rather than by a window function in the statement, which sorted the
 * batch's rows, wide with their outputs, to number them. Null for a job with no base (deleted since the batch
 * named it): the statement writes none of those.
 */
export function finNumbers(w: Pick<WriteColumns, 'jobSeqs' | 'ords'>, bases: FinBases): (number | null)[] {
  const base = baseOf(bases);
  const fins = new Array<number | null>(w.ords.length).fill(null);
  let seq: number | undefined;
  let next: number | undefined;
  for (const k of numberingOrder(w)) {
    if (w.jobSeqs[k] !== seq) {
      seq = w.jobSeqs[k];
      next = base.get(seq!);
    }
    if (next !== undefined) fins[k] = ++next;
  }
  return fins;
}

/** One job's run of final tasks for the `finals` table. */
export interface FinalRun {
  jobSeq: number;
  lo: number;
  idxs: number[];
}

/** What a commit writes for its final tasks' order once it knows which writes took effect. */
export interface FinalsPlan {
  runs: FinalRun[];
  /** Tasks whose number moved down because a write before them was refused: their `fin` is written again. */
  renumbered: { jobSeqs: number[]; indexes: number[]; fins: number[] };
}

/**
 * The runs of what took effect (`refused(k)` false for row k), numbered without gaps from each job's base,
 * and the rows whose number differs from the one `finNumbers` gave them (none when nothing was refused).
 */
export function planFinals(w: Numbered, given: readonly (number | null)[], bases: FinBases, refused: (k: number) => boolean): FinalsPlan {
  const base = baseOf(bases);
  const plan: FinalsPlan = { runs: [], renumbered: { jobSeqs: [], indexes: [], fins: [] } };
  let run: FinalRun | undefined;
  for (const k of numberingOrder(w)) {
    const seq = w.jobSeqs[k]!;
    const lo = base.get(seq);
    if (lo === undefined || given[k] === null || refused(k)) continue;
    if (run?.jobSeq !== seq) plan.runs.push((run = { jobSeq: seq, lo, idxs: [] }));
    run.idxs.push(w.indexes[k]!);
    const fin = lo + run.idxs.length;
    if (fin !== given[k]) {
      plan.renumbered.jobSeqs.push(seq);
      plan.renumbered.indexes.push(w.indexes[k]!);
      plan.renumbered.fins.push(fin);
    }
  }
  return plan;
}
