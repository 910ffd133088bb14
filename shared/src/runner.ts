/**
 * The compute path every volunteer shares (browser Web Worker and headless worker_thread): take a job's
 * module, find its task function, run one attempt and turn whatever happens into an outcome.
 * Pure apart from calling the job's code, so it is tested in Node.
 */
import { Limits } from './limits.ts';
import { NO_ASSETS, type HandedAsset, type TaskAssets } from './task-assets.ts';

/** What a task function receives besides its input. */
export interface TaskContext {
  /** Report progress as a fraction in [0, 1]; throttled by the volunteer. */
  progress(fraction: number): void;
  /** The task's index in its job. */
  readonly index: number;
  /** The job's assets by name: bytes, text, JSON or a compiled WebAssembly module (rule A6). */
  readonly assets: TaskAssets;
}

export type TaskFunction = (input: unknown, ctx: TaskContext) => unknown;

/** One leased attempt as a volunteer's compute pool holds it: the lease plus its job's code and time limit. */
export interface PoolTask {
  a: string;
  job: string;
  code: string;
  timeoutMs: number;
  i: number;
  input: unknown;
  /** The job's assets, when it names any; their `source` is filled in by the asset gate (rule A5). */
  assets?: readonly HandedAsset[];
}

export type AttemptOutcome = { ok: true; output: unknown; ms: number } | { ok: false; error: string; ms: number };

/** The default export of a job module, checked to be a function. */
export function taskFunctionOf(mod: unknown): TaskFunction {
  const fn = (mod as { default?: unknown } | null)?.default;
  if (typeof fn !== 'function') throw new TypeError('job module has no default export function');
  return fn as TaskFunction;
}

/**
 * What a job module may export besides its task function: `prepare(ctx)`, awaited by the thread before each
 * attempt's time limit starts (a Python job's interpreter start, Y4); it gets `ctx.assets`. Its own time is
 * bounded by `timeoutMs` too, separately. Undefined when the module exports none.
 */
export type PrepareFunction = (ctx: { readonly assets: TaskAssets }) => unknown;

export function prepareFunctionOf(mod: unknown): PrepareFunction | undefined {
  const fn = (mod as { prepare?: unknown } | null)?.prepare;
  return typeof fn === 'function' ? (fn as PrepareFunction) : undefined;
}

/** Render anything thrown as one line that helps the job's author. */
export function describeError(err: unknown): string {
  let text: string;
  if (err instanceof Error) text = err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message || err.name;
  else {
    try {
      text = typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
    } catch {
      text = String(err);
    }
  }
  return (text || 'unknown error').slice(0, Limits.maxErrorChars);
}

/** Check an output can travel as JSON within the size limit; returns its JSON-safe form. */
export function encodeOutput(output: unknown): unknown {
  const json = JSON.stringify(output === undefined ? null : output);
  if (json === undefined) throw new TypeError('task output is not JSON-serializable');
  if (json.length > Limits.maxResultBytes) {
    throw new RangeError(`task output is ${json.length} bytes; the limit is ${Limits.maxResultBytes}`);
  }
  return JSON.parse(json);
}

/**
 * Run one attempt of `fn`; never throws. `now` is a millisecond clock (performance.now in both hosts); `assets`
 * is the job's `ctx.assets` (AssetShelf.open).
 */
export async function runAttempt(
  fn: TaskFunction,
  input: unknown,
  index: number,
  onProgress: (fraction: number) => void,
  now: () => number,
  assets: TaskAssets = NO_ASSETS,
): Promise<AttemptOutcome> {
  const started = now();
  const ctx: TaskContext = {
    index,
    assets,
    progress(fraction: number) {
      if (typeof fraction === 'number' && Number.isFinite(fraction)) onProgress(Math.min(1, Math.max(0, fraction)));
    },
  };
  try {
    const output = encodeOutput(await fn(input, ctx));
    return { ok: true, output, ms: now() - started };
  } catch (err) {
    return { ok: false, error: describeError(err), ms: now() - started };
  }
}
