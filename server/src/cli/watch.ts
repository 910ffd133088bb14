/**
 * Following a job to its end from the terminal: its results written out as NDJSON lines, its progress shown,
 * and Ctrl-C that stops the remote work. The first Ctrl-C cancels the job on the master and says what had
 * finished; a second one leaves at once.
 */
import fs from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { inIndexOrder, type Barnraise, type Job, type JobSummary } from '@barnraise/client';
import { CliError, describeJob, Exit, exitCodeOf } from './common.ts';

export interface WatchOptions {
  /** Where result lines go (from `openOut`), or none. */
  out?: Output | undefined;
  /** Lines in index order (held back until those before them came), or as tasks end (default). */
  ordered?: boolean;
  /** Show a bar when stderr is a terminal (default true); plain lines otherwise. */
  bar?: boolean;
  /** What Ctrl-C does: cancel the job (default), or only stop watching it. */
  onInterrupt?: 'cancel' | 'detach';
}

/** How often progress and the swarm are looked at. */
const POLL_MS = 500;
const STATS_EVERY_MS = 2000;

export interface Output {
  stream: NodeJS.WritableStream;
  /** The file's name; undefined for stdout. */
  file: string | undefined;
}

/** Open where results go (`-` is stdout) before anything is submitted, so a bad path costs nothing. */
export function openOut(file: string): Output {
  if (file === '-') return { stream: process.stdout, file: undefined };
  try {
    return { stream: fs.createWriteStream(file, { fd: fs.openSync(file, 'w') }), file };
  } catch (err) {
    throw new CliError(`cannot write results to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Write `text` to `stream`, waiting when its buffer is full; throws once the stream has failed or closed. */
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if ((stream as Writable).destroyed) throw new Error('output closed');
  if (!stream.write(text)) await Promise.race([once(stream, 'drain'), once(stream, 'close')]);
}

/** Follow `job` until it ends; resolves with its final summary and whether Ctrl-C was pressed. */
export async function watchJob(client: Barnraise, job: Job, opts: WatchOptions = {}): Promise<{ summary: JobSummary; interrupted: boolean }> {
  const stop = new AbortController();
  // The progress bar's modules load only when a job is followed: not for every command, nor for `serve`.
  const { progressView } = await import('./display.ts');
  const view = progressView(`job ${job.id}`, { bar: opts.bar ?? true });
  const sink = opts.out?.stream;
  let interrupted = false;

  const onSigint = () => {
    if (interrupted) {
      view.stop();
      process.stderr.write('barnraise: interrupted again, leaving now\n');
      process.exit(Exit.cancelled);
    }
    interrupted = true;
    if (opts.onInterrupt === 'detach') {
      view.note(`stopped watching job ${job.id}; it goes on (barnraise status ${job.id} --watch)`);
      stop.abort();
      return;
    }
    view.note(`cancelling job ${job.id}… (Ctrl-C again to leave without waiting)`);
    // The results stream and the progress loop end by themselves once the job has ended.
    job.cancel().catch((err: Error) => view.note(`could not cancel: ${err.message}`));
  };
  process.on('SIGINT', onSigint);

  // The reader of the results went away (`barnraise run … | head`): nobody wants the rest, so the job stops.
  let readerGone = false;
  const onOutputError = (err: NodeJS.ErrnoException) => {
    if (readerGone) return;
    readerGone = true;
    view.note(`results can no longer be written (${err.code ?? err.message}): cancelling job ${job.id}`);
    job.cancel().catch(() => undefined);
  };
  sink?.on('error', onOutputError);

  const results = async () => {
    if (!sink) return;
    const lines = job.lines({ signal: stop.signal });
    try {
      for await (const line of opts.ordered ? inIndexOrder(lines) : lines) await write(sink, `${JSON.stringify(line)}\n`);
    } catch (err) {
      if (!readerGone) throw err;
    }
  };
  const progress = async () => {
    let volunteers: number | undefined;
    let statsAt = 0;
    for await (const p of job.progress({ intervalMs: POLL_MS, signal: stop.signal })) {
      if (Date.now() - statsAt >= STATS_EVERY_MS) {
        statsAt = Date.now();
        volunteers = (await client.stats({ signal: stop.signal }).catch(() => undefined))?.volunteers ?? volunteers;
      }
      view.update(p, volunteers);
    }
  };

  try {
    await Promise.all([results(), progress()].map((p) => p.catch((err: unknown) => {
      stop.abort(err);
      throw err;
    })));
  } catch (err) {
    if (!(interrupted && opts.onInterrupt === 'detach')) throw err;
  } finally {
    process.off('SIGINT', onSigint);
    sink?.off('error', onOutputError);
    view.stop();
    if (sink && opts.out?.file !== undefined && !readerGone) {
      sink.end();
      await once(sink, 'close');
    }
  }
  const summary = await job.get();
  process.stderr.write(`${describeJob(summary)}${opts.out?.file !== undefined ? `; results in ${opts.out.file}` : ''}\n`);
  return { summary, interrupted };
}

/** The exit code after watching: 130 when cancelled or no longer watched, else by the job's failures. */
export function exitCodeAfter(watched: { summary: JobSummary; interrupted: boolean }, opts: WatchOptions = {}): number {
  return watched.interrupted && opts.onInterrupt === 'detach' ? Exit.cancelled : exitCodeOf(watched.summary);
}
