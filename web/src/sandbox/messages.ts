/**
 * Messages between the page, the sandbox frame and its compute workers. This file imports nothing from the
 * page bundle (types only), because the frame and worker scripts are built into sandbox.html on their own.
 *
 *   page --(window.postMessage)--> frame : spawn a worker (with a MessagePort for it), terminate one
 *   frame --(window.postMessage)--> page : ready, a worker's uncaught error
 *   page <--(MessagePort)--> worker      : run an attempt; its progress and outcome
 */
import type { AttemptOutcome, HandedAsset } from '@barnraise/shared';

/** Page to frame. `spawn` carries the worker's end of a MessageChannel in the transfer list. */
export type ToFrame = { t: 'spawn'; id: number } | { t: 'terminate'; id: number };

/** Frame to page. */
export type FromFrame = { t: 'ready' } | { t: 'worker-error'; id: number; message: string };

/**
 * Page to worker: run attempt `a`; `code` and `assets` come only with the first attempt of a job on this
 * worker. Each asset's `source` is a Blob: posting one hands over a reference, not a copy of its bytes.
 */
export interface RunRequest {
  t: 'run';
  a: string;
  job: string;
  code?: string;
  assets?: readonly HandedAsset[];
  /**
   * A short job's attempt (P3): its outcome may be held while the worker's next attempt is already there.
   * Absent for longer attempts sent one behind another: their next attempt may run for a long time, and a
   * worker running a task cannot send what it holds until that ends.
   */
  hold?: true;
  i: number;
  input: unknown;
}
/** Several attempts at once, run in this order: a short job's attempts sent ahead in one message, not one each (P3). */
export interface RunBatch {
  t: 'runs';
  runs: RunRequest[];
}
export type ToWorker = RunRequest | RunBatch;

/**
 * Worker to page. `begin`: the job's module is prepared (a Python job's interpreter started) and attempt `a`
 * starts now; sent only for modules that have something to prepare, its time limit starting over from it.
 */
export type DoneMessage = { t: 'done'; a: string; outcome: AttemptOutcome };
/**
 * `dones`: outcomes of attempts run one after another, in that order. A worker holds a short job's outcome
 * while its next attempt is already there, for at most a few ms, so they cross to the page several to a
 * message (P3); anything else it sends goes after what it holds.
 */
export type FromWorker = { t: 'progress'; a: string; p: number } | { t: 'begin'; a: string } | DoneMessage | { t: 'dones'; items: DoneMessage[] };

/** Prefix of every error the sandbox itself raises, so a job's author sees at once what refused them. */
export const SANDBOX_ERROR_PREFIX = 'sandbox:';
