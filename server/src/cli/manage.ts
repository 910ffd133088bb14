/** `barnraise jobs`, `status ID [--watch]`, `results ID [--follow] [--failed]`, `cancel ID`, `retry ID`. */
import type { Command } from 'commander';
import type { JobSummary } from '@barnraise/client';
import { action, connect, describeJob, Exit, positiveInt, withConnection, type ConnectionFlags } from './common.ts';
import { exitCodeAfter, watchJob, type WatchOptions } from './watch.ts';

type Flags = ConnectionFlags & { json?: boolean };

function print(summary: JobSummary, json: boolean | undefined): void {
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${describeJob(summary)}\n`);
}

function table(jobs: JobSummary[]): string {
  const rows = [['ID', 'STATUS', 'DONE', 'FAILED', 'TOTAL', 'CREATED', 'NAME']];
  for (const j of jobs) rows.push([j.id, j.status, String(j.counts.done), String(j.counts.failed), String(j.total), j.createdAt.slice(0, 19).replace('T', ' '), j.name]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

export function registerManage(program: Command): void {
  withConnection(program.command('jobs').description('list jobs, newest first'))
    .option('-n, --limit <n>', 'how many', positiveInt, 20)
    .option('--json', 'one JSON summary per line')
    .action(
      action(async (flags: Flags & { limit: number }) => {
        const { jobs } = await connect(flags).listJobs({ limit: Math.min(500, flags.limit) });
        process.stdout.write(flags.json ? jobs.map((j) => `${JSON.stringify(j)}\n`).join('') : jobs.length ? table(jobs) : 'no jobs\n');
        return Exit.ok;
      }),
    );

  withConnection(program.command('status <id>').description("a job's state; --watch follows it with a progress bar until it ends"))
    .option('-w, --watch', 'follow until the job ends (Ctrl-C stops watching, the job goes on)')
    .option('--json', 'the summary as JSON')
    .action(
      action(async (id: string, flags: Flags & { watch?: boolean }) => {
        const client = connect(flags);
        const job = client.job(id);
        if (!flags.watch) {
          print(await job.get(), flags.json);
          return Exit.ok;
        }
        const opts: WatchOptions = { onInterrupt: 'detach' };
        const watched = await watchJob(client, job, opts);
        if (flags.json) print(watched.summary, true);
        return exitCodeAfter(watched, opts);
      }),
    );

  withConnection(program.command('results <id>').description("a job's results as NDJSON lines (those final now, or --follow until it ends)"))
    .option('-f, --follow', 'keep going as tasks end, until the job ends (resumes after a dropped connection)')
    .option('--failed', 'only the failed tasks')
    .action(
      action(async (id: string, flags: ConnectionFlags & { follow?: boolean; failed?: boolean }) => {
        const stop = new AbortController();
        const onSigint = () => {
          process.stderr.write(`\nstopped following; resume with: barnraise results ${id} --follow\n`);
          stop.abort();
        };
        process.once('SIGINT', onSigint);
        try {
          for await (const line of connect(flags).job(id).lines({ follow: flags.follow ?? false, signal: stop.signal })) {
            if (!flags.failed || line.status === 'failed') process.stdout.write(`${JSON.stringify(line)}\n`);
          }
        } catch (err) {
          if (stop.signal.aborted) return Exit.cancelled;
          throw err;
        } finally {
          process.off('SIGINT', onSigint);
        }
        return Exit.ok;
      }),
    );

  withConnection(program.command('cancel <id>').description('cancel a job: volunteers stop its tasks'))
    .option('--json', 'the summary as JSON')
    .action(
      action(async (id: string, flags: Flags) => {
        print(await connect(flags).cancel(id), flags.json);
        return Exit.ok;
      }),
    );

  withConnection(program.command('retry <id>').description("queue a job's failed tasks again"))
    .option('--json', 'the summary as JSON')
    .action(
      action(async (id: string, flags: Flags) => {
        const job = connect(flags).job(id);
        const before = await job.get();
        const after = await job.retryFailed();
        if (!flags.json) process.stderr.write(`${before.counts.failed} failed tasks queued again\n`);
        print(after, flags.json);
        return Exit.ok;
      }),
    );
}
