/** Numbering a commit's final writes in commit order (fins.ts): pure, no database. */
import { describe, expect, it } from 'vitest';
import { finNumbers, planFinals } from './fins.ts';

describe('finNumbers', () => {
  it("[K6] numbers each job's writes on from its base in batch order, whatever order the rows are in", () => {
    // Rows in key order (job, index), as folded; ords are the writes' places in the batch.
    const w = { jobSeqs: [1, 1, 1, 2, 2], ords: [4, 0, 2, 3, 1] };
    expect(finNumbers(w, { seqs: [1, 2], fins: [10, 0] })).toEqual([13, 11, 12, 2, 1]);
  });

  it('[K6] a job with no base (deleted since the batch named it) gets no numbers, the others go on', () => {
    expect(finNumbers({ jobSeqs: [1, 3, 3], ords: [2, 1, 0] }, { seqs: [1], fins: [5] })).toEqual([6, null, null]);
    expect(finNumbers({ jobSeqs: [], ords: [] }, { seqs: [1], fins: [5] })).toEqual([]);
  });
});

describe('planFinals', () => {
  const w = { jobSeqs: [1, 1, 1, 2, 2], indexes: [3, 5, 9, 0, 7], ords: [4, 0, 2, 3, 1] };
  const bases = { seqs: [1, 2], fins: [10, 0] };

  it('[K6] with every write applied: one run a job, in number order, nothing renumbered', () => {
    const given = finNumbers(w, bases);
    expect(planFinals(w, given, bases, () => false)).toEqual({
      runs: [
        { jobSeq: 1, lo: 10, idxs: [5, 9, 3] },
        { jobSeq: 2, lo: 0, idxs: [7, 0] },
      ],
      renumbered: { jobSeqs: [], indexes: [], fins: [] },
    });
  });

  it('[K6][K4] a refused write gives its number up: the later ones of its job move down, the run has no hole', () => {
    const given = finNumbers(w, bases); // job 1: index 5 -> 11, 9 -> 12, 3 -> 13
    const refused = (k: number) => w.indexes[k] === 5 && w.jobSeqs[k] === 1;
    expect(planFinals(w, given, bases, refused)).toEqual({
      runs: [
        { jobSeq: 1, lo: 10, idxs: [9, 3] },
        { jobSeq: 2, lo: 0, idxs: [7, 0] },
      ],
      renumbered: { jobSeqs: [1, 1], indexes: [9, 3], fins: [11, 12] },
    });
  });

  it('[K6] a job whose writes were all refused, or that has no base, has no run', () => {
    const given = finNumbers(w, { seqs: [1], fins: [10] });
    const plan = planFinals(w, given, { seqs: [1], fins: [10] }, (k) => w.jobSeqs[k] === 1);
    expect(plan).toEqual({ runs: [], renumbered: { jobSeqs: [], indexes: [], fins: [] } });
  });
});
