/**
 * Write jobs' status and timestamps, the part of JobProgress that is not a counter. The interface gives
 * absolute values; the statement only lets them move forward, so an older snapshot (a commit that was
 * retried, or another master's) cannot take a job back:
 * - status goes queued -> running -> completed | cancelled and never leaves a final status here (only
 *   resetFailedTasks/reopenJob reopens a job);
 * - started_at is set once (the first start wins);
 * - finished_at changes only while the job is not yet final, i.e. together with the move to a final status.
 */
import type { JobStatus } from '@barnraise/shared';
import type { Queryable } from '../connect.ts';

export interface JobStatusColumns {
  ids: string[];
  statuses: JobStatus[];
  startedAt: (number | null)[];
  finishedAt: (number | null)[];
}

export async function setJobStatus(db: Queryable, s: JobStatusColumns): Promise<void> {
  await db.query({
    name: 'barnraise.setJobStatus',
    text: `UPDATE jobs AS j
           SET status = CASE
                 WHEN j.status IN ('completed', 'cancelled') THEN j.status
                 WHEN j.status = 'running' AND p.status = 'queued' THEN j.status
                 ELSE p.status END,
               started_at = COALESCE(j.started_at, p.started_at),
               finished_at = CASE WHEN j.status IN ('completed', 'cancelled') THEN j.finished_at ELSE p.finished_at END
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS p(id, status, started_at, finished_at)
           WHERE j.id = p.id`,
    values: [s.ids, s.statuses, s.startedAt, s.finishedAt],
  });
}
