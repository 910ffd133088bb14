/** The operator REST calls the dashboard makes; errors carry the master's message for inline display. */
import type { CreateJobBody, IdentityPage, IdentityRow, JobDetail, JobList, JobRow, JobSummary, TaskDetailReply } from '@barnraise/shared';

export class ApiRequestError extends Error {
  readonly code = 'api_error' as const;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function operatorApi(token: string) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(path, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });
    const body = (await res.json().catch(() => null)) as { message?: string } | null;
    if (!res.ok) throw new ApiRequestError(res.status, body?.message ?? `${res.status} ${res.statusText}`);
    return body as T;
  }
  return {
    createJob: (body: CreateJobBody) => call<JobSummary>('/api/jobs', { method: 'POST', body: JSON.stringify(body) }),
    jobs: (cursor?: string) => call<JobList>(`/api/jobs?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`),
    detail: (id: string) => call<JobDetail>(`/api/jobs/${encodeURIComponent(id)}/detail`),
    task: (id: string, index: number) => call<TaskDetailReply>(`/api/jobs/${encodeURIComponent(id)}/tasks/${index}`),
    cancel: (id: string) => call<JobSummary>(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
    retryFailed: (id: string) => call<JobSummary>(`/api/jobs/${encodeURIComponent(id)}/retry-failed`, { method: 'POST' }),
    identities: (offset: number, limit: number) => call<IdentityPage>(`/api/identities?offset=${offset}&limit=${limit}`),
    ban: (id: string, reason?: string) => call<IdentityRow>(`/api/identities/${encodeURIComponent(id)}/ban`, { method: 'POST', body: JSON.stringify(reason ? { reason } : {}) }),
    vouch: (id: string) => call<IdentityRow>(`/api/identities/${encodeURIComponent(id)}/vouch`, { method: 'POST' }),
    reinstate: (id: string) => call<IdentityRow>(`/api/identities/${encodeURIComponent(id)}/reinstate`, { method: 'POST' }),
  };
}
export type OperatorApi = ReturnType<typeof operatorApi>;

/** A REST summary as a table row (no live rate known). */
export const rowOf = (s: JobSummary): JobRow => ({ ...s, tasksPerSecond: 0, etaSeconds: s.status === 'completed' || s.status === 'cancelled' ? 0 : null });
