/**
 * Probation (SPEC.md V9): results settled by a group of trusted volunteers, or standing on one seasoned
 * volunteer, wait here on each of those volunteers until it has passed `probation` more checks of results it
 * returned later (job.ts `probationCheck` says which count); a ban of one of them first sends the result back
 * for validation. Indexed by identity, so a passed check finds the results it may make final; and the order
 * of results received (`stamp`), so a check of a result can be placed before or after a decision.
 *
 * A result whose wait has all its checks but a known answer (V9) is kept apart (`wantKnown`): only a known
 * answer moves it, so the other checks never visit it. Visited by every passed check, they made each check
 * cost as much as everything waiting: when a job's known answers ran dry for its volunteers (its reservoir
 * held one entry, each volunteer had seen it), its whole job waited, and the master spent 700-1,000 µs of
 * its event loop a task on those visits (the common benchmark's adaptive row, 2 runs in 25; 40-50 µs otherwise).
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

  /** The indices of `job` waiting on `identity`, as kept (not a copy): none when nothing waits. */
  indices(identity: string, job: JobValidation): ReadonlySet<number> | undefined {
    return this.byIdentity.get(identity)?.get(job);
  }

  /** The jobs with results waiting on `identity`. */
  jobs(identity: string): JobValidation[] {
    const jobs = this.byIdentity.get(identity);
    return jobs ? [...jobs.keys()] : [];
  }

  /** Results waiting on `identity`, as `of` gives them, no longer kept. */
  take(identity: string): Array<[JobValidation, number[]]> {
    const taken = this.of(identity);
    this.drop(identity);
    return taken;
  }

  /** Keep nothing waiting on `identity`. */
  drop(identity: string): void {
    this.byIdentity.delete(identity);
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
  /** Waits with all their checks but a known answer (V9), apart from those still counting checks. */
  private readonly known = new TasksByIdentity();

  /** [V9] The wait on `identity` of `job`'s task `index` has its checks and wants a known answer only. */
  wantKnown(identity: string, job: JobValidation, index: number): void {
    super.remove(identity, job, index);
    this.known.add(identity, job, index);
  }

  /** The indices of `job` whose wait on `identity` wants a known answer only (not a copy). */
  wantingKnown(identity: string, job: JobValidation): ReadonlySet<number> | undefined {
    return this.known.indices(identity, job);
  }

  override remove(identity: string, job: JobValidation, index: number): void {
    super.remove(identity, job, index);
    this.known.remove(identity, job, index);
  }

  override has(identity: string, job: JobValidation): boolean {
    return super.has(identity, job) || this.known.has(identity, job);
  }

  override jobs(identity: string): JobValidation[] {
    return [...new Set([...super.jobs(identity), ...this.known.jobs(identity)])];
  }

  override of(identity: string): Array<[JobValidation, number[]]> {
    const all = new Map<JobValidation, number[]>(super.of(identity));
    for (const [job, indices] of this.known.of(identity)) all.set(job, [...(all.get(job) ?? []), ...indices]);
    return [...all];
  }

  override drop(identity: string): void {
    super.drop(identity);
    this.known.drop(identity);
  }

  override forget(job: JobValidation): void {
    super.forget(job);
    this.known.forget(job);
  }

  /** [V9] The next place in the order of results received (votes and checks): see Vote.seq. */
  stamp(): number {
    return ++this.last;
  }
}
