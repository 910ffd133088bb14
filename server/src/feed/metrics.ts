/**
 * Rates the dashboard shows, sampled once a second: swarm throughput history (10 minutes), and a smoothed
 * tasks-per-second per job and per volunteer (so a table row can show speed and time left).
 */
import { HISTORY_SECONDS } from '@barnraise/shared';
import type { JobState, VolunteerState } from '../scheduler/state.ts';

/** Exponentially weighted rate: reacts within seconds, does not flicker on one slow second. */
const ALPHA = 0.3;

interface RateSample {
  last: number;
  rate: number;
}

export class Metrics {
  /** Tasks finished per second, oldest first. */
  readonly history: number[] = [];
  private lastDone: number | null = null;
  private readonly jobs = new WeakMap<JobState, RateSample>();
  private readonly volunteers = new WeakMap<VolunteerState, RateSample>();

  private static step<K extends object>(map: WeakMap<K, RateSample>, key: K, value: number): void {
    const s = map.get(key);
    if (!s) map.set(key, { last: value, rate: 0 });
    else {
      s.rate = ALPHA * (value - s.last) + (1 - ALPHA) * s.rate;
      s.last = value;
    }
  }

  /** Take one per-second sample; returns the new history point. */
  sample(tasksDone: number, jobs: Iterable<JobState>, volunteers: Iterable<VolunteerState>): number {
    const point = this.lastDone === null ? 0 : Math.max(0, tasksDone - this.lastDone);
    this.lastDone = tasksDone;
    this.history.push(point);
    if (this.history.length > HISTORY_SECONDS) this.history.shift();
    for (const j of jobs) Metrics.step(this.jobs, j, j.counts.done + j.counts.failed);
    for (const v of volunteers) Metrics.step(this.volunteers, v, v.tasksDone);
    return point;
  }

  jobRate(job: JobState): number {
    return round(this.jobs.get(job)?.rate ?? 0);
  }

  volunteerRate(v: VolunteerState): number {
    return round(this.volunteers.get(v)?.rate ?? 0);
  }
}

const round = (x: number) => Math.round(x * 10) / 10;
