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

type Failed = { ok: false; error: string; ms: number };
/** An attempt's outcome with its output as a value (the page's Web Workers, runAttempt). */
export type ValueOutcome = { ok: true; output: unknown; ms: number } | Failed;
/**
 * An attempt's outcome with its output as JSON text, as the headless worker's threads hand it over: encoded
 * once, in the thread, and put into the `results` frame as is (decoding it there to encode it again cost the
 * main thread).
 */
export type JsonOutcome = { ok: true; json: string; ms: number } | Failed;
export type AttemptOutcome = ValueOutcome | JsonOutcome;

/** An attempt's output as a value, whichever form its outcome carries it in. */
export function outputOf(outcome: Extract<AttemptOutcome, { ok: true }>): unknown {
  return 'json' in outcome ? JSON.parse(outcome.json) : outcome.output;
}

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

/** An output's JSON text, checked to exist and to fit the size limit (undefined travels as null). */
export function outputJson(output: unknown): string {
  const json = JSON.stringify(output === undefined ? null : output);
  if (json === undefined) throw new TypeError('task output is not JSON-serializable');
  if (json.length > Limits.maxResultBytes) {
    throw new RangeError(`task output is ${json.length} bytes; the limit is ${Limits.maxResultBytes}`);
  }
  return json;
}

/** Check an output can travel as JSON within the size limit; returns its JSON-safe form. */
export function encodeOutput(output: unknown): unknown {
  return JSON.parse(outputJson(output));
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
): Promise<ValueOutcome> {
  const started = now();
  const ctx = taskContext(index, assets, onProgress);
  try {
    const output = encodeOutput(await fn(input, ctx));
    return { ok: true, output, ms: now() - started };
  } catch (err) {
    return { ok: false, error: describeError(err), ms: now() - started };
  }
}

/**
 * Like runAttempt, but the output stays JSON text, and a task function that returns a plain value is
 * answered at once rather than in a microtask: for the headless worker's threads, where a trivial attempt
 * costs less than the `await` and the decode it skips.
 */
export function runAttemptJson(
  fn: TaskFunction,
  input: unknown,
  index: number,
  onProgress: (fraction: number) => void,
  now: () => number,
  assets: TaskAssets = NO_ASSETS,
): JsonOutcome | Promise<JsonOutcome> {
  const started = now();
  const ctx = taskContext(index, assets, onProgress);
  let value: unknown;
  try {
    value = fn(input, ctx);
  } catch (err) {
    return { ok: false, error: describeError(err), ms: now() - started };
  }
  // Anything with a `then` is awaited, as `await` would (a thenable that is not a Promise included).
  if ((typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function') {
    return Promise.resolve(value).then(
      (v) => jsonOutcome(v, started, now),
      (err: unknown) => ({ ok: false, error: describeError(err), ms: now() - started }),
    );
  }
  return jsonOutcome(value, started, now);
}

/** What a task function gets beside its input: its index, the job's assets, and a progress report clamped to 0..1. */
function taskContext(index: number, assets: TaskAssets, onProgress: (fraction: number) => void): TaskContext {
  return {
    index,
    assets,
    progress(fraction: number) {
      if (typeof fraction === 'number' && Number.isFinite(fraction)) onProgress(Math.min(1, Math.max(0, fraction)));
    },
  };
}

function jsonOutcome(value: unknown, started: number, now: () => number): JsonOutcome {
  try {
    const json = outputJson(value);
    return { ok: true, json, ms: now() - started };
  } catch (err) {
    return { ok: false, error: describeError(err), ms: now() - started };
  }
}
