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

  /**
   * The next task, from the first job in turn that gives one: `take` asks a job for a task (undefined when it
   * has none for this volunteer: a validated job may hold work only others may take). Priorities first [F1],
   * then jobs of one priority in turn [F2].
   */
  next<T>(take: (job: JobState) => T | undefined): { job: JobState; got: T } | undefined {
    const jobs = this.jobs;
    for (let first = 0; first < jobs.length; ) {
      const level = jobs[first]!.spec.priority;
      let end = first;
      while (end < jobs.length && jobs[end]!.spec.priority === level) end++;
      const span = end - first;
      const last = this.turn.get(level) ?? first - 1;
      for (let k = 1; k <= span; k++) {
        const i = first + ((((last - first + k) % span) + span) % span);
        const job = jobs[i]!;
        if (!job.hasWork()) continue;
        const got = take(job);
        if (got === undefined) continue;
        this.turn.set(level, i);
        return { job, got };
      }
      first = end;
    }
    return undefined;
  }

  /** Work over all jobs: queued tasks, and (validated jobs) wanted replicas. */
  queued(): number {
    let n = 0;
    for (const job of this.jobs) n += job.workCount();
    return n;
  }

  get size(): number {
    return this.jobs.length;
  }
}
