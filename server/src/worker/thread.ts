/**
 * A headless volunteer's compute thread: loads each job's module once (as a data: URL) and its assets from
 * the worker's cache onto a shelf it shares with the browser's Web Workers' code (shared/src/task-assets.ts),
 * and runs attempts with the same runner they use. Trusted code only: worker_threads are no sandbox.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { AssetShelf, describeError, NO_ASSETS, prepareFunctionOf, runAttemptJson, taskFunctionOf, type HandedAsset, type JsonOutcome, type PrepareFunction, type TaskAssets, type TaskFunction } from '@barnraise/shared';
import { clock, RunningMark, type ThreadOutcomes, type ThreadReply, type ThreadRequest } from './thread-messages.ts';

/** Longest an outcome waits for others to share its message. */
const FLUSH_MS = 1;

const port = parentPort!;
const mark = new RunningMark(workerData as SharedArrayBuffer);
/** Each job's module: its task function, and what must run before an attempt's time limit starts, if anything. */
const modules = new Map<string, Promise<{ fn: TaskFunction; prepare: PrepareFunction | undefined }>>();
/** Each job's assets as the pool handed them, with its code; the bytes are on the shelf (rule A6). */
const jobAssets = new Map<string, readonly HandedAsset[]>();
const shelf = new AssetShelf(async (asset) => new Uint8Array(await readFile(asset.source as string)));
const post = (r: ThreadReply) => port.postMessage(r);

function load(job: string, code: string | undefined): Promise<{ fn: TaskFunction; prepare: PrepareFunction | undefined }> {
  let fn = modules.get(job);
  if (!fn) {
    if (code === undefined) return Promise.reject(new Error(`no code for job ${job}`));
    const url = `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
    fn = import(url).then((mod: unknown) => ({ fn: taskFunctionOf(mod), prepare: prepareFunctionOf(mod) }));
    modules.set(job, fn);
  }
  return fn;
}

/**
 * Outcomes of a request, posted together when it is done, or earlier once the first of them has waited
 * FLUSH_MS: the pool's view of progress, and so its time limits, stays close to real.
 */
class Outbox {
  private items: ThreadOutcomes = Outbox.empty();
  private firstAt = 0;

  private static empty(): ThreadOutcomes {
    return { a: [], ms: [], text: [], failed: [] };
  }

  add(a: string, outcome: JsonOutcome): void {
    const now = performance.now();
    const items = this.items;
    if (items.a.length === 0) this.firstAt = now;
    if (outcome.ok) items.text.push(outcome.json);
    else {
      items.failed.push(items.a.length);
      items.text.push(outcome.error);
    }
    items.a.push(a);
    items.ms.push(outcome.ms);
    if (now - this.firstAt >= FLUSH_MS) this.flush();
  }

  flush(): void {
    if (this.items.a.length === 0) return;
    post({ type: 'done', ...this.items });
    this.items = Outbox.empty();
  }
}

/**
 * Run a request's attempts; `base` is how many attempts came before it, so attempt k is `base + k` on the
 * mark. A request sent ahead is marked from when the thread gets to it: its module and preparation count
 * against its first attempt, as the pool's mark at posting does for a request to an idle thread.
 */
async function run(req: ThreadRequest, base: number): Promise<void> {
  if (!req.marked) mark.set(base, clock());
  if (req.assets) jobAssets.set(req.job, req.assets);
  let fn: TaskFunction;
  let prepare: PrepareFunction | undefined;
  let assets: TaskAssets = NO_ASSETS;
  try {
    ({ fn, prepare } = await load(req.job, req.code));
  } catch (err) {
    modules.delete(req.job);
    return fail(req, `job code failed to load: ${describeError(err)}`);
  }
  try {
    const handed = jobAssets.get(req.job);
    if (handed) assets = await shelf.open(handed);
  } catch (err) {
    return fail(req, `the job's assets could not be read: ${describeError(err)}`);
  }
  if (prepare) {
    // A Python job's interpreter start, bounded by the time limit the pool armed when it posted the request;
    // the first attempt's own limit starts over once it is done (the pool reads the mark, Y4).
    try {
      await prepare({ assets });
    } catch (err) {
      return fail(req, describeError(err));
    }
  }
  const outbox = new Outbox();
  const { a, i, input } = req;
  for (let k = 0; k < a.length; k++) {
    // The pool marked attempt 0 when it posted the request, so loading the module counts against it, as it
    // did before batches (a job's preparation aside: from then).
    if (k > 0 || prepare) mark.set(base + k, clock());
    const id = a[k]!;
    const pending = runAttemptJson(fn, input[k], i[k]!, (p) => post({ type: 'progress', a: id, p }), now, assets);
    // A task function that returns a plain value is not awaited: a trivial attempt costs less than the hop.
    outbox.add(id, pending instanceof Promise ? await pending : pending);
  }
  outbox.flush();
}

const now = () => performance.now();

function fail(req: ThreadRequest, error: string): void {
  post({ type: 'done', a: req.a, ms: req.a.map(() => 0), text: req.a.map(() => error), failed: req.a.map((_, k) => k) });
}

/** Attempts received so far. */
let received = 0;
/** Requests run one after the other: one sent ahead waits for the one running, even while it awaits. */
let running: Promise<void> = Promise.resolve();
port.on('message', (req: ThreadRequest) => {
  const base = received;
  received += req.a.length;
  running = running
    .then(() => run(req, base))
    .catch((err: unknown) => {
      // A fault of this file, not of the job (run reports those): crash as an unhandled rejection would, so the pool replaces the thread.
      process.nextTick(() => {
        throw err;
      });
    });
});

post({ type: 'ready' });
