/** Job summaries for the REST API: the store's row (the same on every master, K7) and what this master holds of it. */
import type { JobSummary } from '@barnraise/shared';
import type { JobState } from '../scheduler/state.ts';
import type { JobRecord } from '../store/store.ts';
import { languageOf } from '../python/job.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function summaryOf(r: JobRecord, live?: JobState): JobSummary {
  const finished = r.done + r.failed;
  const leased = live && !live.isFinished() ? live.counts.leased : 0;
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    priority: r.priority,
    language: languageOf(r.code),
    total: r.total,
    counts: { queued: Math.max(0, r.total - finished - leased), leased, done: r.done, failed: r.failed },
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
            awaiting: live?.validation?.awaiting ?? 0,
            inconclusive: r.inconclusive ?? 0,
            replicas: r.replicas ?? 0,
          },
        }
      : {}),
    ...(r.assets?.length ? { assets: r.assets } : {}),
    createdAt: new Date(r.createdAt).toISOString(),
    startedAt: iso(r.startedAt),
    finishedAt: iso(r.finishedAt),
  };
}

/** A live job's summary from memory: the spec, the store's counters as last synced, this master's leases. */
export function summaryOfState(job: JobState): JobSummary {
  const d = job.durable;
  const record: JobRecord = {
    ...job.spec,
    status: job.status,
    done: d?.done ?? job.counts.done,
    failed: d?.failed ?? job.counts.failed,
    requeues: d?.requeues ?? job.requeues,
    startedAt: d?.startedAt ?? job.startedAt,
    finishedAt: d?.finishedAt ?? job.finishedAt,
    ...(job.spec.validation ? { replicas: d?.replicas ?? 0, inconclusive: d?.inconclusive ?? 0 } : {}),
  };
  return summaryOf(record, job);
}
