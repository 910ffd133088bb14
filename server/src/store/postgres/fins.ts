/**
 * [K6] Numbering a commit's final writes in their jobs' commit order: pure, no database. What took effect of
 * each job's writes, in batch order (`ords`), becomes the job's next run (or runs, MAX_RUN) of `finals`
 * (migrations/009_finals.sql), numbered on from the job's `fin` as read under its row lock (the base): the
 * next commit on the job reads the base this one leaves, so runs follow on without gaps or overlaps.
 */
import type { WriteColumns } from './batch.ts';

/** One job's run of final tasks: numbers `lo + 1` to `lo + idxs.length`, in order. */
export interface FinalRun {
  jobSeq: number;
  lo: number;
  idxs: number[];
}

/**
 * Most entries in one run: a follower's read unnests each run its window touches whole, so a commit of
 * tens of thousands of results (a master's last commits of a fast job carried up to 48,000) is written as
 * several runs, numbered on from each other.
 */
export const MAX_RUN = 8192;

/**
 * The runs of the writes that took effect (`refused(k)` false for row k), for each job that has a base (its
 * `fin` before this commit, by job seq; a job deleted since the batch named it has none: nothing of it was
 * written), in job order, each at most `maxRun` long.
 */
export function finalRuns(w: Pick<WriteColumns, 'jobSeqs' | 'indexes' | 'ords'>, base: ReadonlyMap<number, number>, refused: (k: number) => boolean, maxRun = MAX_RUN): FinalRun[] {
  const order = w.ords.map((_, k) => k).sort((a, b) => w.jobSeqs[a]! - w.jobSeqs[b]! || w.ords[a]! - w.ords[b]!);
  const runs: FinalRun[] = [];
  let run: FinalRun | undefined;
  for (const k of order) {
    const seq = w.jobSeqs[k]!;
    const lo = base.get(seq);
    if (lo === undefined || refused(k)) continue;
    if (run?.jobSeq !== seq) runs.push((run = { jobSeq: seq, lo, idxs: [] }));
    else if (run.idxs.length === maxRun) runs.push((run = { jobSeq: seq, lo: run.lo + maxRun, idxs: [] }));
    run.idxs.push(w.indexes[k]!);
  }
  return runs;
}
