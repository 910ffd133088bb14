/** `barnraise submit JOBFILE --inputs F` and `barnraise run JOBFILE < inputs > results`. */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ValidationMode, CreateJobBody } from '@barnraise/shared';
import { assetFlag, uploadAssets } from './assets.ts';
import { loadJob } from './bundle.ts';
import { action, connect, duration, Exit, integer, Interrupted, positiveInt, withConnection, type ConnectionFlags } from './common.ts';
import { readInputs } from './inputs.ts';
import { exitCodeAfter, openOut, watchJob, type Output } from './watch.ts';

interface JobFlags extends ConnectionFlags {
  name?: string;
  timeout?: number;
  attempts?: number;
  priority?: number;
  validation?: string;
  asset?: Record<string, string>;
}

/** Validation modes (the master's result validation, newer than this client's schema). */
const VALIDATION_MODES = ['none', 'adaptive', 'strict'];

function jobOptions(cmd: Command): Command {
  return withConnection(cmd)
    .option('--name <name>', 'the job\'s name (default: the file\'s name)')
    .option('--timeout <duration>', 'time limit of one attempt, e.g. 30s, 500ms, 2m (default 60s)', duration)
    .option('--attempts <n>', 'attempts per task before it fails (default 3)', positiveInt)
    .option('--priority <n>', 'higher runs first (default 0)', integer)
    .addOption(new Option('--validation <mode>', 'how results are checked by running tasks twice').choices(VALIDATION_MODES))
    .option('--asset <name=path>', 'a file the job reads as ctx.assets.<name> (repeat for more)', assetFlag);
}

/** Bundle, read inputs, upload assets, submit. Resolves with the job once the master has stored it. */
async function submitJob(jobFile: string, inputs: unknown[], flags: JobFlags) {
  const client = connect(flags);
  const { code, language } = await loadJob(jobFile);
  const body: CreateJobBody = {
    name: flags.name ?? path.basename(jobFile),
    code,
    // [Y1] Sent only for Python: a master older than section Y refuses a field it does not know.
    ...(language === 'python' ? { language } : {}),
    inputs,
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.attempts !== undefined ? { maxAttempts: flags.attempts } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
    // Sent only when asked for: a master without these features refuses fields it does not know.
    ...(flags.validation !== undefined ? { validation: { mode: flags.validation as ValidationMode } } : {}),
    // [A2] Uploaded first (what the master has is skipped): a job naming an asset it lacks is refused.
    ...(flags.asset ? { assets: await uploadAssets(client, flags.asset) } : {}),
  };
  // Ctrl-C while the job is on its way: once the master has it (only its reply says which job), cancel it.
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(Exit.cancelled);
    interrupted = true;
    process.stderr.write('barnraise: the job is being submitted; it will be cancelled as soon as the master has it\n');
  };
  process.on('SIGINT', onSigint);
  try {
    const job = await client.submit(body);
    if (interrupted) {
      const summary = await job.cancel();
      throw new Interrupted(`cancelled job ${summary.id} before it ran`);
    }
    return { client, job };
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerSubmit(program: Command): void {
  jobOptions(
    program
      .command('submit <jobfile>')
      .description('bundle a job (TS or JS, with its npm imports; or a Python module, .py), submit it and follow it with a progress bar')
      .requiredOption('-i, --inputs <file>', 'inputs: a JSON array or JSON Lines; - for stdin')
      .option('-o, --out <file>', 'write results there as NDJSON lines, as tasks end (- for stdout)')
      .option('--detach', 'print the job id and leave; the job goes on')
      .option('--json', 'print the job summary as JSON on stdout (at the end, or at once with --detach)'),
  ).action(
    action(async (jobFile: string, flags: JobFlags & { inputs: string; out?: string; detach?: boolean; json?: boolean }) => {
      const out: Output | undefined = flags.out !== undefined ? openOut(flags.out) : undefined;
      const inputs = await readInputs(flags.inputs);
      const { client, job } = await submitJob(jobFile, inputs, flags);
      if (flags.detach) {
        process.stdout.write(flags.json ? `${JSON.stringify(job.summary)}\n` : `${job.id}\n`);
        return Exit.ok;
      }
      process.stderr.write(`submitted job ${job.id} (${inputs.length} tasks); Ctrl-C cancels it\n`);
      const watched = await watchJob(client, job, { out });
      if (flags.json) process.stdout.write(`${JSON.stringify(watched.summary)}\n`);
      return exitCodeAfter(watched);
    }),
  );

  jobOptions(
    program
      .command('run <jobfile>')
      .description('submit a job with inputs from stdin (or --inputs) and print its results on stdout, in input order')
      .option('-i, --inputs <file>', 'inputs: a JSON array or JSON Lines (default: stdin)', '-'),
  ).action(
    action(async (jobFile: string, flags: JobFlags & { inputs: string }) => {
      const inputs = await readInputs(flags.inputs);
      const { client, job } = await submitJob(jobFile, inputs, flags);
      process.stderr.write(`submitted job ${job.id} (${inputs.length} tasks); Ctrl-C cancels it\n`);
      // Results on a terminal would tear the bar: then progress goes as plain lines.
      const watched = await watchJob(client, job, { out: openOut('-'), ordered: true, bar: !process.stdout.isTTY });
      return exitCodeAfter(watched);
    }),
  );
}
