/** Messages between the headless volunteer and its compute threads, and the memory they share. */
import { performance } from 'node:perf_hooks';
import type { HandedAsset } from '@barnraise/shared';

/**
 * Attempts of one job, run in order. One attempt while the job's tasks are not known to be short; once they
 * are, several, because a thread round trip costs the main thread more than a trivial task does. In columns
 * (attempt k is `a[k]`, `i[k]`, `input[k]`): structured clone copies an array of strings or numbers far faster
 * than the same fields as an object per attempt, whose every key it reads and writes again.
 */
export type ThreadRequest = {
  type: 'run';
  job: string;
  /** Sent only the first time this thread sees the job. */
  code?: string;
  /** The job's assets, with the path of each one's checked file in the cache (with `code`, rule A6). */
  assets?: readonly HandedAsset[];
  /**
   * The pool marked the first attempt's start as it posted the request (to an idle thread). False for a
   * request sent ahead: the thread marks it when it gets to it.
   */
  marked: boolean;
  a: string[];
  i: number[];
  input: unknown[];
};

/**
 * Outcomes in the order the attempts ran, in columns like the request: outcome k is attempt `a[k]`, which
 * took `ms[k]` and gave `text[k]`: its output's JSON text (sent to the master as is), or, when `failed`
 * lists k, its error.
 */
export interface ThreadOutcomes {
  a: string[];
  ms: number[];
  text: string[];
  /** Positions of the failed attempts (usually none). */
  failed: number[];
}

export type ThreadReply =
  | { type: 'progress'; a: string; p: number }
  /** A batch's outcomes come back in one or a few of these. */
  | ({ type: 'done' } & ThreadOutcomes)
  /** The thread has loaded and takes attempts (booting one under tsx costs ~350 ms of CPU). */
  | { type: 'ready' };

/** Milliseconds on a clock both sides read alike (a thread's `performance.now()` has its own origin). */
export const clock = (): number => performance.timeOrigin + performance.now();

/**
 * Which attempt a thread runs (counted over every request since it started), and since when, in memory
 * shared with the pool. A
 * thread stuck in a long attempt cannot post the outcomes it holds of the attempts before it, so only this
 * tells the pool which attempt is past its time limit. It costs no message: the pool reads it when a
 * timer fires.
 */
export class RunningMark {
  private readonly index: Int32Array;
  private readonly since: Float64Array;

  constructor(readonly buffer = new SharedArrayBuffer(16)) {
    this.index = new Int32Array(buffer, 0, 1);
    this.since = new Float64Array(buffer, 8, 1);
  }

  /** The time first, then the index atomically: a reader who sees the index sees its time (or a later one). */
  set(k: number, since: number): void {
    this.since[0] = since;
    Atomics.store(this.index, 0, k);
  }

  get(): { k: number; since: number } {
    const k = Atomics.load(this.index, 0);
    return { k, since: this.since[0]! };
  }
}
