/** Job summaries for the REST API, from live scheduler state or from a stored row. */
import type { JobSummary } from '@barnraise/shared';
import type { JobState } from '../scheduler/state.ts';
import type { JobRecord } from '../store/store.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function summaryOfState(job: JobState): JobSummary {
  const s = job.spec;
  return {
    id: s.id,
    name: s.name,
    status: job.status,
    priority: s.priority,
    total: s.total,
    counts: { ...job.counts },
    requeues: job.requeues,
    timeoutMs: s.timeoutMs,
    maxAttempts: s.maxAttempts,
    ...(s.validation && job.validation
      ? {
          validation: {
            mode: s.validation.mode,
            quorum: s.validation.quorum,
            maxReplicas: s.validation.maxReplicas,
            validated: job.counts.done + job.counts.failed - job.validation.inconclusive,
            awaiting: job.validation.awaiting,
            inconclusive: job.validation.inconclusive,
            replicas: job.validation.replicas,
          },
        }
      : {}),
    createdAt: new Date(s.createdAt).toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

export function summaryOfRecord(r: JobRecord): JobSummary {
  const finished = r.done + r.failed;
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    priority: r.priority,
    total: r.total,
    // A stored row is not running: every unfinished task is queued (or was dropped by cancel).
    counts: { queued: r.total - finished, leased: 0, done: r.done, failed: r.failed },
    requeues: r.requeues,
    timeoutMs: r.timeoutMs,
    maxAttempts: r.maxAttempts,
    ...(r.validation
      ? {
          validation: {
            mode: r.validation.mode,
            quorum: r.validation.quorum,
            maxReplicas: r.validation.maxReplicas,
            validated: finished - (r.inconclusive ?? 0),
            awaiting: 0,
            inconclusive: r.inconclusive ?? 0,
            replicas: r.replicas ?? 0,
          },
        }
      : {}),
    createdAt: new Date(r.createdAt).toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}
