/**
 * What the dashboard shows of result validation (SPEC.md section V), as pure functions so they are
 * unit-tested without a page: identities shortened for tables, a validated job's counts, which events
 * change the identities table, and the submit form's validation field.
 */
import { EventKind, type CreateJobBody, type EventRow, type JobSummary, type ValidationMode } from '@barnraise/shared';

/** A validated job's counts (JobSummary.validation). */
export type ValidationCounts = NonNullable<JobSummary['validation']>;

/**
 * An identity id as tables show it: `i_` and its first six characters, enough to tell a swarm's
 * identities apart at a glance; the full id goes in the cell's title.
 */
export function shortIdentity(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}

/**
 * Results per task so far: replicas and checks received over the tasks that have any (final or still
 * awaiting validation), so the figure means something mid-job; once the job ends it is replicas / tasks.
 * Null before the first result.
 */
export function replicasPerTask(v: ValidationCounts): number | null {
  const touched = v.validated + v.awaiting + v.inconclusive;
  return touched === 0 ? null : v.replicas / touched;
}

/** "1.35×", or "–" before the first result. */
export function formatPerTask(v: ValidationCounts): string {
  const r = replicasPerTask(v);
  return r === null ? '–' : `${r.toFixed(2)}×`;
}

/** Events after which an identity's row reads differently: a ban, or trust earned. */
const IDENTITY_EVENTS: ReadonlySet<string> = new Set([EventKind.identityBanned, EventKind.identityTrusted]);

/**
 * The sequence number of the newest event that changes the identities table (0: none yet). The table
 * refetches when it moves, so it follows bans without polling.
 */
export function lastIdentityEvent(events: readonly EventRow[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (IDENTITY_EVENTS.has(events[i]!.kind)) return events[i]!.seq;
  return 0;
}

/** The submit form's choice: the master's default (BARNRAISE_VALIDATION), or a mode the operator picked. */
export type ValidationChoice = '' | ValidationMode;

/**
 * The job body's `validation` for the form's choice: nothing for the master's default (the dashboard
 * cannot know it), `{ mode }` whenever the operator picked one, `none` included, since a master whose
 * default is adaptive must hear it.
 */
export function validationField(choice: ValidationChoice): Pick<CreateJobBody, 'validation'> {
  return choice === '' ? {} : { validation: { mode: choice } };
}
