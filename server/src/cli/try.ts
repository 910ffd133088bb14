/**
 * `barnraise try JOBFILE --inputs F -n 5`: run the first few inputs here, on the headless worker's own compute
 * threads (same module loading, same runner, same time limit), before spending anyone's CPU. No master.
 */
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { JobDefaults, outputOf, type AttemptOutcome, type HandedAsset, type ResultLine } from '@barnraise/shared';
import { ThreadPool } from '../worker/pool.ts';
import { assetFlag, localAssets } from './assets.ts';
import { loadJob } from './bundle.ts';
import { action, CliError, duration, Exit, positiveInt } from './common.ts';
import { readInputs } from './inputs.ts';
import { isWheel, pyodideNameClash, pythonJobModule } from '../python/job.ts';
import { PYODIDE_FILES, pyodideDir } from '../python/pyodide.ts';

/** A Python module as the job module volunteers run, with the installed Pyodide's files as local assets. */
async function localPythonJob(source: string, own: HandedAsset[]): Promise<{ code: string; assets: HandedAsset[] }> {
  const clash = pyodideNameClash(own.map((a) => a.name));
  if (clash) throw new CliError(clash);
  const pyodide = await localAssets(Object.fromEntries(PYODIDE_FILES.map((name) => [name, path.join(pyodideDir(), name)])));
  const hashes = Object.fromEntries(pyodide.map((a) => [a.name, a.sha256]));
  return { code: pythonJobModule(source, hashes, own.map((a) => a.name).filter(isWheel)), assets: [...own, ...pyodide] };
}

/** Run `inputs` of `code` locally; resolves with each outcome (and its duration), in input order. */
export async function tryLocally(code: string, inputs: unknown[], opts: { threads: number; timeoutMs: number; assets?: readonly HandedAsset[] }): Promise<Array<ResultLine & { ms: number }>> {
  const outcomes = new Map<number, AttemptOutcome>();
  let allDone = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const pool = new ThreadPool(Math.min(opts.threads, inputs.length), {
    started: () => undefined,
    progress: () => undefined,
    changed: () => undefined,
    done: ({ a }, outcome) => {
      outcomes.set(Number(a), outcome);
      if (outcomes.size === inputs.length) allDone();
    },
  });
  try {
    const assets = opts.assets?.length ? { assets: opts.assets } : {};
    for (const [i, input] of inputs.entries()) pool.run({ a: String(i), job: 'try', code, timeoutMs: opts.timeoutMs, i, input, ...assets });
    await finished;
  } finally {
    await pool.close();
  }
  return inputs.map((_, index) => {
    const o = outcomes.get(index)!;
    return o.ok ? { index, status: 'done', output: outputOf(o), ms: o.ms } : { index, status: 'failed', error: o.error, ms: o.ms };
  });
}

export function registerTry(program: Command): void {
  program
    .command('try <jobfile>')
    .description('run the first inputs here, on local threads, before submitting (trusted code: no sandbox; .py jobs run in Pyodide as on volunteers)')
    .option('-i, --inputs <file>', 'inputs: a JSON array or JSON Lines (default: stdin)', '-')
    .option('-n, --count <n>', 'how many of the inputs to run', positiveInt, 5)
    .option('--timeout <duration>', 'time limit of one attempt (default 60s)', duration)
    .option('--threads <n>', 'threads to run them on', positiveInt, Math.max(1, Math.min(4, os.availableParallelism())))
    .option('--asset <name=path>', 'a file the job reads as ctx.assets.<name> (repeat for more)', assetFlag)
    .action(
      action(async (jobFile: string, flags: { inputs: string; count: number; timeout?: number; threads: number; asset?: Record<string, string> }) => {
        const job = await loadJob(jobFile);
        const inputs = (await readInputs(flags.inputs)).slice(0, flags.count);
        const own = flags.asset ? await localAssets(flags.asset) : [];
        // [Y3] A Python job runs here as volunteers run it: the same generated module, Pyodide from node_modules.
        const { code, assets } = job.language === 'python' ? await localPythonJob(job.code, own) : { code: job.code, assets: own };
        const lines = await tryLocally(code, inputs, { threads: flags.threads, timeoutMs: flags.timeout ?? JobDefaults.timeoutMs, assets });
        for (const { ms, ...line } of lines) {
          process.stdout.write(`${JSON.stringify(line)}\n`);
          process.stderr.write(`task ${line.index}: ${line.status} in ${ms.toFixed(1)} ms${line.status === 'failed' ? `: ${line.error}` : ''}\n`);
        }
        const failed = lines.filter((l) => l.status === 'failed').length;
        process.stderr.write(`${lines.length} tasks ran here: ${lines.length - failed} done, ${failed} failed\n`);
        return failed > 0 ? Exit.someFailed : Exit.ok;
      }),
    );
}
