/** Numbering a commit's final writes in commit order (fins.ts): pure, no database. */
import { describe, expect, it } from 'vitest';
import { finalRuns } from './fins.ts';

describe('finalRuns', () => {
  // Rows in key order (job, index), as folded; ords are the writes' places in the batch.
  const w = { jobSeqs: [1, 1, 1, 2, 2], indexes: [3, 5, 9, 0, 7], ords: [4, 0, 2, 3, 1] };
  const bases = new Map([
    [1, 10],
    [2, 0],
  ]);

  it("[K6] one run a job, from its base, in batch order whatever order the rows are in", () => {
    expect(finalRuns(w, bases, () => false)).toEqual([
      { jobSeq: 1, lo: 10, idxs: [5, 9, 3] },
      { jobSeq: 2, lo: 0, idxs: [7, 0] },
    ]);
  });

  it('[K6][K4] a refused write has no place: the run of what took effect has no hole', () => {
    const refused = (k: number) => w.jobSeqs[k] === 1 && w.indexes[k] === 5;
    expect(finalRuns(w, bases, refused)).toEqual([
      { jobSeq: 1, lo: 10, idxs: [9, 3] },
      { jobSeq: 2, lo: 0, idxs: [7, 0] },
    ]);
  });

  it('[K6] a long run is cut into runs of at most maxRun, each numbered on from the last', () => {
    expect(finalRuns(w, bases, () => false, 2)).toEqual([
      { jobSeq: 1, lo: 10, idxs: [5, 9] },
      { jobSeq: 1, lo: 12, idxs: [3] },
      { jobSeq: 2, lo: 0, idxs: [7, 0] },
    ]);
  });

  it('[K6] a job whose writes were all refused, or that has no base (deleted), has no run', () => {
    expect(finalRuns(w, new Map([[1, 10]]), (k) => w.jobSeqs[k] === 1)).toEqual([]);
    expect(finalRuns({ jobSeqs: [], indexes: [], ords: [] }, bases, () => false)).toEqual([]);
  });
});
