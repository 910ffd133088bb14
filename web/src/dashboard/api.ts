/** The operator REST calls the dashboard makes, on @barnraise/client; errors carry the master's message for inline display. */
import { Barnraise, BarnraiseError } from '@barnraise/client';
import type { CreateJobBody, JobRow, JobSummary } from '@barnraise/shared';

/**
 * Any error the client makes (an API error with the master's message, no connection, …): its message is
 * fit to show the operator as it is.
 */
export { BarnraiseError as ApiRequestError };

/** The dashboard's calls, against the page's own origin. */
export function operatorApi(token: string) {
  const br = new Barnraise({ url: location.origin, token });
  return {
    /** The client, for calls the dashboard has no shorthand for. */
    client: br,
    createJob: async (body: CreateJobBody) => (await br.submit(body)).summary!,
    jobs: (cursor?: string) => br.listJobs({ limit: 50, ...(cursor ? { cursor } : {}) }),
    detail: (id: string) => br.getJobDetail(id),
    task: (id: string, index: number) => br.getTask(id, index),
    cancel: (id: string) => br.cancel(id),
    retryFailed: (id: string) => br.retryFailed(id),
    identities: (offset: number, limit: number) => br.listIdentities({ offset, limit }),
    ban: (id: string, reason?: string) => br.banIdentity(id, { reason }),
    vouch: (id: string) => br.vouchForIdentity(id),
    reinstate: (id: string) => br.reinstateIdentity(id),
  };
}
export type OperatorApi = ReturnType<typeof operatorApi>;

/** A REST summary as a table row (no live rate known). */
export const rowOf = (s: JobSummary): JobRow => ({ ...s, tasksPerSecond: 0, etaSeconds: s.status === 'completed' || s.status === 'cancelled' ? 0 : null });
