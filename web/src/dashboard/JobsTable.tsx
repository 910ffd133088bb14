import { useState } from 'react';
import type { JobRow } from '@barnraise/shared';
import { formatCount, formatDuration, formatRate } from '../ui/format.ts';
import { rowOf } from './api.ts';
import { useServices } from './services.ts';
import { percentDone, selectJobs, selectJobsPage, sortedJobs, useDashboard } from './store.ts';
import { ValidationCell } from './Validation.tsx';

const PAGE = 10;

/** A job's progress: role progressbar, aria-valuenow the percent of its tasks that are final. */
export function JobProgress({ job }: { job: JobRow }) {
  const pct = percentDone(job);
  return (
    <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={`${job.name} progress`}>
      <div className="fill" style={{ width: `${pct}%` }} />
      <span>{pct}%</span>
    </div>
  );
}

export function JobsTable() {
  const jobs = useDashboard(selectJobs);
  const page = useDashboard(selectJobsPage);
  const setPage = useDashboard((s) => s.setJobsPage);
  const select = useDashboard((s) => s.selectJob);
  const addJobs = useDashboard((s) => s.addJobs);
  const { api } = useServices();
  const [cursor, setCursor] = useState<string | undefined | null>(undefined);
  const all = sortedJobs(jobs);
  const pages = Math.max(1, Math.ceil(all.length / PAGE));
  const rows = all.slice(page * PAGE, page * PAGE + PAGE);

  const loadOlder = async () => {
    const list = await api.jobs(cursor ?? undefined);
    addJobs(list.jobs.map(rowOf));
    setCursor(list.next ?? null);
  };

  return (
    <section className="card" aria-labelledby="jobs-h">
      <h2 id="jobs-h">Jobs</h2>
      <div className="scroll">
        <table data-testid="jobs.table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Progress</th>
              <th>Done</th>
              <th>Failed</th>
              <th>Requeued</th>
              <th>Tasks/s</th>
              <th>Time left</th>
              <th>Validation</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.id} data-testid={`jobs.row.${j.id}`}>
                <td>
                  <button className="link" onClick={() => select(j.id)}>
                    {j.name}
                  </button>
                </td>
                <td data-testid={`jobs.status.${j.id}`}>{j.status}</td>
                <td>
                  <JobProgress job={j} />
                </td>
                <td>{formatCount(j.counts.done)}</td>
                <td>{formatCount(j.counts.failed)}</td>
                <td>{formatCount(j.requeues)}</td>
                <td>{formatRate(j.tasksPerSecond)}</td>
                <td>{j.etaSeconds === null ? '–' : formatDuration(j.etaSeconds * 1000)}</td>
                <ValidationCell job={j} />
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={9} className="muted">
                  No jobs yet. Submit one below or with POST /api/jobs.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="row pager" aria-label="Jobs pages">
        <button className="small" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <span>
          Page {page + 1} of {pages}
        </span>
        <button className="small" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
          Older
        </button>
        {cursor !== null && (
          <button className="small" onClick={() => void loadOlder()}>
            Load older jobs
          </button>
        )}
      </nav>
    </section>
  );
}
