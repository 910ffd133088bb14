/**
 * A headless volunteer's compute thread: loads each job's module once (as a data: URL) and runs attempts
 * with the same runner the browser's Web Workers use. Trusted code only: worker_threads are no sandbox.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { describeError, runAttempt, taskFunctionOf, type TaskFunction } from '@barnraise/shared';
import type { ThreadReply, ThreadRequest } from './thread-messages.ts';

const port = parentPort!;
const modules = new Map<string, Promise<TaskFunction>>();

function load(job: string, code: string | undefined): Promise<TaskFunction> {
  let fn = modules.get(job);
  if (!fn) {
    if (code === undefined) return Promise.reject(new Error(`no code for job ${job}`));
    const url = `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
    fn = import(url).then(taskFunctionOf);
    modules.set(job, fn);
  }
  return fn;
}

port.on('message', async (req: ThreadRequest) => {
  const reply = (r: ThreadReply) => port.postMessage(r);
  let fn: TaskFunction;
  try {
    fn = await load(req.job, req.code);
  } catch (err) {
    modules.delete(req.job);
    reply({ type: 'done', a: req.a, outcome: { ok: false, error: `job code failed to load: ${describeError(err)}`, ms: 0 } });
    return;
  }
  const outcome = await runAttempt(fn, req.input, req.i, (p) => reply({ type: 'progress', a: req.a, p }), () => performance.now());
  reply({ type: 'done', a: req.a, outcome });
});

port.postMessage({ type: 'ready' } satisfies ThreadReply);
