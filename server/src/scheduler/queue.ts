/**
 * Fair share across jobs (rules F1, F2): the highest priority with work goes first; jobs of the same
 * priority take turns task by task, so a big job cannot starve a small one.
 */
import type { JobState } from './state.ts';

export class FairQueue {
  /** Active jobs ordered by priority (high first), then age (old first). */
  private readonly jobs: JobState[] = [];
  /** Per priority level, the index in `jobs` served last. */
  private readonly turn = new Map<number, number>();

  add(job: JobState): void {
    this.jobs.push(job);
    this.jobs.sort((a, b) => b.spec.priority - a.spec.priority || a.spec.createdAt - b.spec.createdAt);
    this.turn.clear();
  }

  remove(job: JobState): void {
    const i = this.jobs.indexOf(job);
    if (i >= 0) this.jobs.splice(i, 1);
    this.turn.clear();
  }

  /** The job the next task should come from, or undefined when no job has work. */
  next(): JobState | undefined {
    const jobs = this.jobs;
    let level: number | undefined;
    let start = 0;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      if (level !== undefined && job.spec.priority !== level) break;
      if (!job.hasWork()) continue;
      if (level === undefined) {
        level = job.spec.priority;
        start = i;
      }
    }
    if (level === undefined) return undefined;
    // Jobs of `level` occupy a contiguous run starting at or before `start`; rotate after the last served.
    let first = start;
    while (first > 0 && jobs[first - 1]!.spec.priority === level) first--;
    let end = first;
    while (end < jobs.length && jobs[end]!.spec.priority === level) end++;
    const last = this.turn.get(level) ?? first - 1;
    const span = end - first;
    for (let k = 1; k <= span; k++) {
      const i = first + ((last - first + k) % span + span) % span;
      const job = jobs[i]!;
      if (job.hasWork()) {
        this.turn.set(level, i);
        return job;
      }
    }
    return undefined;
  }

  /** Queued tasks over all jobs. */
  queued(): number {
    let n = 0;
    for (const job of this.jobs) if (job.hasWork()) n += job.counts.queued;
    return n;
  }

  get size(): number {
    return this.jobs.length;
  }
}
