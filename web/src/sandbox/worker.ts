/**
 * A compute worker: a classic Web Worker the sandbox frame starts from a blob: URL. It loads each job's
 * module once, with dynamic import() of a blob: URL made here (a module worker from an opaque origin's
 * blob fails to start in Chromium; a classic worker importing modules works), and runs attempts with the
 * runner shared with the headless worker, with each job's assets on a shelf it also shares (the bytes of
 * the Blobs the page hands it, read once per worker). Its page end is the MessagePort the frame hands it first.
 */
// runner.ts by path, not through '@barnraise/shared': the package index would bring TypeBox and every
// schema into this script, which is inlined into sandbox.html (4 KB instead of 50 KB).
import { describeError, prepareFunctionOf, runAttempt, taskFunctionOf, type PrepareFunction, type TaskFunction } from '../../../shared/src/runner.ts';
import { AssetShelf, NO_ASSETS, type HandedAsset, type TaskAssets } from '../../../shared/src/task-assets.ts';
import { describeViolation, installGuards } from './guard.ts';
import type { DoneMessage, FromWorker, RunRequest, ToWorker } from './messages.ts';

/** The parts of a DedicatedWorkerGlobalScope used here (the project's DOM typings describe a window). */
interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  addEventListener(type: 'securitypolicyviolation', fn: (e: SecurityPolicyViolationEvent) => void): void;
}

const scope = self as unknown as WorkerScope;
/** A job's module: its task function, and what must run before an attempt's time limit starts, if anything. */
interface JobModule {
  fn: TaskFunction;
  prepare: PrepareFunction | undefined;
}
const modules = new Map<string, Promise<JobModule>>();
/** Each job's assets as the page handed them (Blobs), with its code; their bytes are read onto the shelf once (A6). */
const jobAssets = new Map<string, readonly HandedAsset[]>();
const shelf = new AssetShelf(async (asset) => new Uint8Array(await (asset.source as Blob).arrayBuffer()));
/** CSP violations in this worker, newest last; an attempt that fails after one reports it. */
const violations: string[] = [];

scope.addEventListener('securitypolicyviolation', (e) => violations.push(describeViolation(e)));
installGuards(self);

function load(job: string, code: string | undefined): Promise<JobModule> {
  let fn = modules.get(job);
  if (!fn) {
    if (code === undefined) return Promise.reject(new Error(`no code for job ${job}`));
    const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
    fn = import(/* @vite-ignore */ url)
      .then((mod: unknown) => ({ fn: taskFunctionOf(mod), prepare: prepareFunctionOf(mod) }))
      .finally(() => URL.revokeObjectURL(url));
    modules.set(job, fn);
  }
  return fn;
}

/** Violation events are queued tasks, so give them one turn to arrive before judging a failure. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * [P3] Outcomes held back to cross together, oldest first: an outcome of a short job's attempt (the page says
 * so, `hold`) shorter than HOLD_MS waits while this worker's next attempt is already here, and at most
 * HOLD_MS from the first held, so a short job's outcomes reach the page several to a message (each message
 * across the sandbox's process cost the page's thread as much as the rest of an attempt's bookkeeping). The pool knows a worker holding
 * outcomes may be past the attempt it thinks runs: a time limit that expires on a line of attempts blames
 * none of them (pool.ts).
 */
const HOLD_MS = 8;
let held: DoneMessage[] = [];
let heldSince = 0;
/** Attempts sent here and not started yet. */
let waiting = 0;

function sendHeld(port: MessagePort): void {
  if (held.length === 0) return;
  port.postMessage(held.length === 1 ? held[0] : { t: 'dones', items: held });
  held = [];
}

async function run(port: MessagePort, req: RunRequest): Promise<void> {
  waiting--;
  if (held.length > 0 && performance.now() - heldSince >= HOLD_MS) sendHeld(port);
  const reply = (msg: FromWorker) => {
    if (msg.t === 'done') {
      if (held.length === 0) heldSince = performance.now();
      held.push(msg);
      // Only a short job's outcome waits, and not a long one of it: holding it would hold it for the whole
      // next attempt (a worker running a task sends nothing until it ends).
      if (waiting === 0 || !req.hold || msg.outcome.ms >= HOLD_MS) sendHeld(port);
      return;
    }
    sendHeld(port); // in order: what is held is about attempts before this one
    port.postMessage(msg);
  };
  const seen = violations.length;
  if (req.assets) jobAssets.set(req.job, req.assets);
  let fn: TaskFunction;
  let prepare: PrepareFunction | undefined;
  try {
    ({ fn, prepare } = await load(req.job, req.code));
  } catch (err) {
    modules.delete(req.job);
    await nextTurn();
    const why = violations.length > seen ? `${violations[violations.length - 1]}: ` : '';
    reply({ t: 'done', a: req.a, outcome: { ok: false, error: `job code failed to load: ${why}${describeError(err)}`, ms: 0 } });
    return;
  }
  let assets: TaskAssets = NO_ASSETS;
  try {
    const handed = jobAssets.get(req.job);
    if (handed) assets = await shelf.open(handed);
  } catch (err) {
    reply({ t: 'done', a: req.a, outcome: { ok: false, error: `the job's assets could not be read: ${describeError(err)}`, ms: 0 } });
    return;
  }
  if (prepare) {
    // A Python job's interpreter start: the page times the attempt from the 'begin' that follows (Y4).
    const t0 = performance.now();
    try {
      await prepare({ assets });
    } catch (err) {
      reply({ t: 'done', a: req.a, outcome: { ok: false, error: describeError(err), ms: 0 } });
      return;
    }
    // Only when it took time (the start, not a later attempt's check that it is done): no message more per task.
    if (performance.now() - t0 >= 1) reply({ t: 'begin', a: req.a });
  }
  const outcome = await runAttempt(fn, req.input, req.i, (p) => reply({ t: 'progress', a: req.a, p }), () => performance.now(), assets);
  if (!outcome.ok && !outcome.error.startsWith('SandboxError')) {
    await nextTurn();
    if (violations.length > seen) outcome.error = `${violations[violations.length - 1]}: ${outcome.error}`;
  }
  reply({ t: 'done', a: req.a, outcome });
}

// The first message brings this worker's port; everything after travels on it.
scope.onmessage = (e) => {
  const port = e.ports[0];
  if (!port) return;
  scope.onmessage = null;
  // One attempt at a time, in the order sent: the pool sends a short job's next attempts ahead (an async
  // task, Python's among them, must not start the next one while it awaits).
  let line = Promise.resolve();
  port.onmessage = (m: MessageEvent<ToWorker>) => {
    for (const req of m.data.t === 'runs' ? m.data.runs : [m.data]) {
      waiting++;
      line = line.then(() => run(port, req)).catch(() => undefined);
    }
  };
};
