/** A handle on one job: its results (in order or as they come), its progress, cancel, retry, wait. */
import type { JobSummary, ResultLine, TaskDetailReply } from '@barnraise/shared';
import { JobFinishedError, TaskError } from './errors.ts';
import { followResults, inIndexOrder, type FollowOptions } from './follow.ts';
import { sleep, type Http } from './http.ts';
import { isFinished, progressOf, RateMeter, type Progress } from './progress.ts';

/** A task that ended with an output: the REST results line as it is. */
export type DoneTask = Extract<ResultLine, { status: 'done' }>;
/** A task's outcome: its output, or a TaskError (a value, not thrown). */
export type TaskResult = DoneTask | TaskError;

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface ResultsOptions extends CallOptions, Pick<FollowOptions, 'idleMs'> {
  /** Keep reading until the job ends (default true), or take only the tasks final now. */
  follow?: boolean;
  /**
   * Look up how many attempts each failed task had (one request per failed task, since the results stream
   * does not say). Default true; false leaves `TaskError.attempts` undefined.
   */
  attempts?: boolean;
}

export interface PollOptions extends CallOptions {
  /** Time between two looks at the job (default 1000 ms). */
  intervalMs?: number;
}

export class Job {
  /** The last summary the master gave of this job. */
  summary: JobSummary | undefined;
  /** Every task's outcome has been read: the job is over, leaving a scope need not cancel it. */
  private allRead = false;

  constructor(
    private readonly http: Http,
    /** The job's id (`j_…`). */
    readonly id: string,
    summary?: JobSummary,
  ) {
    this.summary = summary;
  }

  private path(rest = ''): string {
    return `/api/jobs/${encodeURIComponent(this.id)}${rest}`;
  }

  private remember(summary: JobSummary): JobSummary {
    this.summary = summary;
    return summary;
  }

  /** The job's summary now. */
  async get(opts: CallOptions = {}): Promise<JobSummary> {
    return this.remember(await this.http.json<JobSummary>('GET', this.path(), { signal: opts.signal }));
  }

  /** Each task's outcome once, as tasks end (those already final first, in index order). */
  async *asCompleted(opts: ResultsOptions = {}): AsyncGenerator<TaskResult> {
    const total = this.summary?.total ?? (await this.get(opts)).total;
    let count = 0;
    for await (const line of followResults(this.http, this.id, total, opts)) {
      yield await this.toResult(line, opts);
      count++;
    }
    if (count === total) this.allRead = true;
  }

  /** Each task's outcome once, in index order. A cancelled job's results end early (what came, in order). */
  results(opts: ResultsOptions = {}): AsyncGenerator<TaskResult> {
    return inIndexOrder(this.asCompleted(opts));
  }

  /** The REST results lines as they are (as tasks end), for writing them out unchanged. */
  async *lines(opts: Omit<ResultsOptions, 'attempts'> = {}): AsyncGenerator<ResultLine> {
    const total = this.summary?.total ?? (await this.get(opts)).total;
    yield* followResults(this.http, this.id, total, opts);
  }

  private async toResult(line: ResultLine, opts: ResultsOptions): Promise<TaskResult> {
    if (line.status === 'done') return line;
    // A master that puts the count in the line saves the lookup.
    const inLine = (line as { attempts?: unknown }).attempts;
    let attempts = typeof inLine === 'number' ? inLine : undefined;
    if (attempts === undefined && opts.attempts !== false) {
      attempts = await this.task(line.index, opts).then(
        (t) => t.attempts.length,
        (err: unknown) => {
          if (opts.signal?.aborted) throw err;
          return undefined; // the count is a courtesy: a lookup that fails does not lose the result
        },
      );
    }
    return new TaskError(line.index, line.error, attempts);
  }

  /** Snapshots of the job's progress, one per interval, the last one when it has ended. */
  async *progress(opts: PollOptions = {}): AsyncGenerator<Progress> {
    const meter = new RateMeter();
    for (;;) {
      const s = await this.get(opts);
      const p = progressOf(s, meter.add(s.counts.done + s.counts.failed));
      yield p;
      if (p.finished) return;
      await sleep(opts.intervalMs ?? 1000, opts.signal);
    }
  }

  /** Resolves with the summary once the job has ended (completed or cancelled). */
  async wait(opts: PollOptions = {}): Promise<JobSummary> {
    // Polls quickly at first, so a short job is not held back by the interval.
    for (let n = 0; ; n++) {
      const s = await this.get(opts);
      if (isFinished(s)) return s;
      await sleep(Math.min(opts.intervalMs ?? 1000, 50 * 2 ** n), opts.signal);
    }
  }

  /** Stop the job: volunteers running its tasks are told to abort. A job that has already completed is left as it is. */
  async cancel(opts: CallOptions = {}): Promise<JobSummary> {
    try {
      return this.remember(await this.http.json<JobSummary>('POST', this.path('/cancel'), { signal: opts.signal }));
    } catch (err) {
      if (err instanceof JobFinishedError) return this.get(opts);
      throw err;
    }
  }

  /** Queue the job's failed tasks again (the job runs again). */
  async retryFailed(opts: CallOptions = {}): Promise<JobSummary> {
    this.allRead = false;
    return this.remember(await this.http.json<JobSummary>('POST', this.path('/retry-failed'), { signal: opts.signal }));
  }

  /** One task: state, input, output or error, and its attempt history. */
  async task(index: number, opts: CallOptions = {}): Promise<TaskDetailReply> {
    return this.http.json<TaskDetailReply>('GET', this.path(`/tasks/${index}`), { signal: opts.signal });
  }

  /** `await using job = …`: leaving the scope cancels the job unless it is known to have ended. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.allRead && !isFinished(this.summary)) await this.cancel();
  }
}
