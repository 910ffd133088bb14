/**
 * Probation (SPEC.md V9): results settled by a group of trusted volunteers, or standing on one seasoned
 * volunteer, wait here on each of those volunteers until it has passed `probation` more checks of results it
 * returned later (job.ts `probationCheck` says which count); a ban of one of them first sends the result back
 * for validation. Indexed by identity, so a passed check finds the results it may make final; and the order
 * of results received (`stamp`), so a check of a result can be placed before or after a decision.
 */
import type { JobValidation } from './job.ts';

/** Task indices of each job, by identity: what waits on a volunteer (probation here, parked decisions in suspicion.ts). */
export class TasksByIdentity {
  private readonly byIdentity = new Map<string, Map<JobValidation, Set<number>>>();

  add(identity: string, job: JobValidation, index: number): void {
    let jobs = this.byIdentity.get(identity);
    if (!jobs) this.byIdentity.set(identity, (jobs = new Map()));
    let set = jobs.get(job);
    if (!set) jobs.set(job, (set = new Set()));
    set.add(index);
  }

  remove(identity: string, job: JobValidation, index: number): void {
    const jobs = this.byIdentity.get(identity);
    const set = jobs?.get(job);
    if (!set) return;
    set.delete(index);
    if (set.size === 0) jobs!.delete(job);
    if (jobs!.size === 0) this.byIdentity.delete(identity);
  }

  /** Results waiting on `identity`: [job, indices]. */
  of(identity: string): Array<[JobValidation, number[]]> {
    const jobs = this.byIdentity.get(identity);
    return jobs ? [...jobs].map(([job, set]) => [job, [...set]]) : [];
  }

  /** True when results of `job` wait on `identity`. */
  has(identity: string, job: JobValidation): boolean {
    return this.byIdentity.get(identity)?.has(job) ?? false;
  }

  /** Results waiting on `identity`, as `of` gives them, no longer kept. */
  take(identity: string): Array<[JobValidation, number[]]> {
    const taken = this.of(identity);
    this.byIdentity.delete(identity);
    return taken;
  }

  forget(job: JobValidation): void {
    for (const [id, jobs] of this.byIdentity) {
      jobs.delete(job);
      if (jobs.size === 0) this.byIdentity.delete(id);
    }
  }
}

export class Probation extends TasksByIdentity {
  private last = 0;

  /** [V9] The next place in the order of results received (votes and checks): see Vote.seq. */
  stamp(): number {
    return ++this.last;
  }
}
