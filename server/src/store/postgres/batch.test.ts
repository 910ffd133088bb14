/** Folding a group commit's task writes to one per task (batch.ts): pure, no database. */
import { describe, expect, it } from 'vitest';
import type { TaskWrite } from '../store.ts';
import { columns, foldTaskWrites } from './batch.ts';

const seqs = new Map([['a', 1], ['b', 2]]);
const fold = (writes: TaskWrite[]) => foldTaskWrites(writes, (id) => seqs.get(id), (e) => e.replaceAll('\0', '?'));
const done = (job: string, index: number, output: unknown, failures = 0): TaskWrite => ({ kind: 'done', job, index, output, failures, losses: 0 });
const failed = (job: string, index: number, error: string): TaskWrite => ({ kind: 'failed', job, index, error, failures: 3, losses: 0 });
const retry = (job: string, index: number, failures: number, error: string | null): TaskWrite => ({ kind: 'retry', job, index, failures, losses: 0, error });

describe('foldTaskWrites', () => {
  it('[E1] keeps the first final write of a task and drops everything after it', () => {
    const f = fold([done('a', 0, 'first'), done('a', 0, 'second'), failed('a', 0, 'x'), retry('a', 0, 1, 'late')]);
    expect(f.final).toEqual([{ jobSeq: 1, index: 0, kind: 'done', at: 0, output: '"first"', error: null, failures: 0, losses: 0, positions: [0] }]);
    expect(f.retry).toEqual([]);
  });

  it('[T2] retries before a final write fold into it: its counts, the last retry error', () => {
    const f = fold([retry('a', 3, 1, 'e1'), retry('a', 3, 2, 'e2'), done('a', 3, { y: 1 }, 2)]);
    expect(f.final).toEqual([{ jobSeq: 1, index: 3, kind: 'done', at: 2, output: '{"y":1}', error: 'e2', failures: 2, losses: 0, positions: [0, 1, 2] }]);
  });

  it('[T2] the last of several retries wins; errors are made storable', () => {
    const f = fold([retry('b', 1, 1, 'a\0b'), retry('b', 1, 2, null)]);
    expect(f.retry).toEqual([{ jobSeq: 2, index: 1, kind: 'retry', at: 1, output: null, error: null, failures: 2, losses: 0, positions: [0, 1] }]);
    expect(fold([failed('b', 0, 'x\0')]).final[0]!.error).toBe('x?');
    expect(columns(fold([failed('b', 0, 'x')]).final).states).toEqual([3]);
  });

  it('[D2] drops writes of unknown jobs and impossible indexes, and sorts the rest by key', () => {
    const f = fold([done('b', 5, 5), done('zzz', 0, 0), done('a', -1, 0), done('a', 2 ** 31, 0), done('a', 1.5, 0), done('a', 9, 9), done('b', 0, 0)]);
    expect(f.final.map((w) => [w.jobSeq, w.index])).toEqual([[1, 9], [2, 0], [2, 5]]);
    expect(f.final.flatMap((w) => w.positions).sort()).toEqual([0, 5, 6]);
    // Sorted by key for locking, each keeps its place in the batch (the order of its job's numbering, K6).
    expect(columns(f.final)).toMatchObject({ jobSeqs: [1, 2, 2], indexes: [9, 0, 5], ords: [5, 6, 0], states: [2, 2, 2], outputs: ['9', '0', '5'] });
  });
});
