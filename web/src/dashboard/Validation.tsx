import type { JobRow } from '@barnraise/shared';
import { formatCount } from '../ui/format.ts';
import { formatPerTask } from './trust.ts';

/** The jobs table's cell: a validated job's mode and counts in one line, "–" for a job that is not validated. */
export function ValidationCell({ job }: { job: JobRow }) {
  const v = job.validation;
  if (!v) return <td className="muted" data-testid={`jobs.validation.${job.id}`}>–</td>;
  return (
    <td data-testid={`jobs.validation.${job.id}`} title={`${formatCount(v.replicas)} results so far (replicas and checks)`}>
      {v.mode}: {formatCount(v.validated)} validated, {formatCount(v.awaiting)} awaiting, {formatCount(v.inconclusive)} inconclusive, {formatPerTask(v)} per task
    </td>
  );
}

/** Job detail's validation rows (part of its <dl>): mode and policy, validated, awaiting, inconclusive, replicas. */
export function ValidationRows({ job }: { job: JobRow }) {
  const v = job.validation;
  if (!v) {
    return (
      <>
        <dt>Validation</dt>
        <dd data-testid="detail.validation">none: one result from anyone is final</dd>
      </>
    );
  }
  return (
    <>
      <dt>Validation</dt>
      <dd data-testid="detail.validation">
        {v.mode} (quorum {v.quorum}, at most {v.maxReplicas} results per task)
      </dd>
      <dt>Validated</dt>
      <dd data-testid="detail.validated">{formatCount(v.validated)}</dd>
      <dt>Awaiting validation</dt>
      <dd data-testid="detail.awaiting">{formatCount(v.awaiting)}</dd>
      <dt>Inconclusive</dt>
      <dd data-testid="detail.inconclusive">{formatCount(v.inconclusive)}</dd>
      <dt>Replicas</dt>
      <dd data-testid="detail.replicas">
        {formatCount(v.replicas)} so far, {formatPerTask(v)} per task
      </dd>
    </>
  );
}
