/**
 * Suspicion (SPEC.md V15): an identity a decision has caught is suspect from the moment that decision is made
 * until it is carried out (a ban) or undone, which can take a while (the decision's own supporters serve their
 * probation first, V9). Meanwhile its vote weighs nothing, and a decision that catches nobody and stands on
 * it is parked here, not carried out: a colluder caught lying on one task must not see its lies on others
 * enter the results stream while its ban waits. Master-local, like probation: after a restart the held
 * decisions are made again (V13) and accuse again.
 */
import type { JobValidation } from './job.ts';
import { TasksByIdentity } from './probation.ts';

export class Suspicion {
  /** Open accusations per identity: decisions held that would ban it. */
  private readonly against = new Map<string, number>();
  /** Decisions parked on a suspect supporter, by identity. */
  private readonly parked = new TasksByIdentity();

  isSuspect(identity: string): boolean {
    return this.against.has(identity);
  }

  accuse(identity: string): void {
    this.against.set(identity, (this.against.get(identity) ?? 0) + 1);
  }

  /** One accusation of `identity` is carried out or undone; when none is left, the decisions parked on it. */
  release(identity: string): Array<[JobValidation, number[]]> {
    const n = (this.against.get(identity) ?? 0) - 1;
    if (n > 0) {
      this.against.set(identity, n);
      return [];
    }
    this.against.delete(identity);
    return this.parked.take(identity);
  }

  park(identity: string, job: JobValidation, index: number): void {
    this.parked.add(identity, job, index);
  }

  forget(job: JobValidation): void {
    this.parked.forget(job);
  }
}
