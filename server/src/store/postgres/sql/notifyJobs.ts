/**
 * [K7] "The jobs changed" (a job submitted, cancelled or retried), told to every master listening, so that a
 * job reaches the others in milliseconds rather than at their next read of the active jobs (1 s). Sent only
 * from those transactions, never from a commit of results: NOTIFY takes a lock on the whole database's
 * notification queue at COMMIT, which a hot path would queue behind. The payload names the schema, so that
 * deployments sharing one database hear only their own.
 */
import type { Queryable } from '../connect.ts';

export const JOBS_CHANNEL = 'barnraise_jobs';

/** Inside the transaction that changes the job: delivered when it commits, never if it rolls back. */
export async function notifyJobs(db: Queryable, schema: string): Promise<void> {
  await db.query({ name: 'barnraise.notifyJobs', text: 'SELECT pg_notify($1, $2)', values: [JOBS_CHANNEL, schema] });
}
