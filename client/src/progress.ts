/** How far a job has come: counts from its summary, plus a rate and a time left measured by the client. */
import type { JobStatus, JobSummary } from '@barnraise/shared';

export interface Progress {
  status: JobStatus;
  total: number;
  done: number;
  failed: number;
  queued: number;
  leased: number;
  /** Tasks ended (done or failed) per second over the last few seconds. */
  tasksPerSecond: number;
  /** Seconds until every task has ended at that rate; null while the rate is unknown or zero. */
  etaSeconds: number | null;
  /** The job has ended (completed or cancelled): nothing will move any more. */
  finished: boolean;
}

/** How far back the rate looks: long enough not to flicker, short enough to follow a swarm that grows. */
const WINDOW_MS = 10_000;

/** Tasks per second from (time, tasks ended) samples over a sliding window. */
export class RateMeter {
  private readonly samples: Array<{ t: number; n: number }> = [];

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** Add a sample; returns the rate over the window (0 until two samples half a second apart). */
  add(ended: number): number {
    const t = this.now();
    this.samples.push({ t, n: ended });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const span = t - first.t;
    return span >= 500 ? (ended - first.n) / (span / 1000) : 0;
  }
}

export function isFinished(summary: Pick<JobSummary, 'status'> | undefined): boolean {
  return summary?.status === 'completed' || summary?.status === 'cancelled';
}

/** A progress report from a summary and the measured rate. */
export function progressOf(s: JobSummary, tasksPerSecond: number): Progress {
  const { done, failed, queued, leased } = s.counts;
  const finished = isFinished(s);
  const left = s.total - done - failed;
  const etaSeconds = finished ? 0 : tasksPerSecond > 0 ? left / tasksPerSecond : null;
  return { status: s.status, total: s.total, done, failed, queued, leased, tasksPerSecond, etaSeconds, finished };
}
