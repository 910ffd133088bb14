import { useEffect, useState } from 'react';
import type { JobDetail as Detail, TaskDetailReply } from '@barnraise/shared';
import { ApiRequestError } from './api.ts';
import { JobProgress } from './JobsTable.tsx';
import { useServices } from './services.ts';
import { selectJobs, selectSelectedJob, useDashboard } from './store.ts';
import { TaskHistory } from './TaskHistory.tsx';
import { ValidationRows } from './Validation.tsx';

const show = (v: unknown) => JSON.stringify(v);
const formatBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

/** The selected job: summary, counts, validation, samples, errors, a task's attempt history, its code and assets, controls. */
export function JobDetail() {
  const id = useDashboard(selectSelectedJob);
  const row = useDashboard((s) => (id ? selectJobs(s)[id] : undefined));
  const select = useDashboard((s) => s.selectJob);
  const { api } = useServices();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [task, setTask] = useState<TaskDetailReply | null>(null);
  const [taskIndex, setTaskIndex] = useState('0');
  const [problem, setProblem] = useState<string | null>(null);
  const finished = row?.counts ? row.counts.done + row.counts.failed : 0;

  useEffect(() => {
    if (!id) return;
    let live = true;
    api.detail(id).then(
      (d) => live && setDetail(d),
      (e: Error) => live && setProblem(e.message),
    );
    return () => {
      live = false;
    };
    // Refetch the samples as the job progresses (the row's counts change a few times a second at most).
  }, [id, api, finished, row?.status]);

  if (!id || !row) return null;
  const act = (f: () => Promise<unknown>) => () => {
    setProblem(null);
    f().catch((e: unknown) => setProblem(e instanceof ApiRequestError ? e.message : String(e)));
  };
  const loadTask = act(async () => setTask(await api.task(id, Number(taskIndex))));
  const running = row.status === 'queued' || row.status === 'running';

  return (
    <section className="card" aria-labelledby="detail-h" data-testid="detail">
      <div className="row spread">
        <h2 id="detail-h">{row.name}</h2>
        <button className="small plain" onClick={() => select(null)} aria-label="Close job detail">
          ✕
        </button>
      </div>
      <JobProgress job={row} />
      <dl className="kv">
        <dt>Status</dt>
        <dd data-testid="detail.status">{row.status}</dd>
        <dt>Tasks</dt>
        <dd>
          {row.total} ({row.counts.queued} queued, {row.counts.leased} leased, {row.counts.done} done, {row.counts.failed} failed)
        </dd>
        <dt>Language</dt>
        <dd data-testid="detail.language">{row.language === 'python' ? 'Python' : 'JavaScript'}</dd>
        <dt>Requeued</dt>
        <dd>{row.requeues}</dd>
        <dt>Limits</dt>
        <dd>
          {row.timeoutMs} ms per attempt, {row.maxAttempts} attempts, priority {row.priority}
        </dd>
        <ValidationRows job={row} />
      </dl>
      <div className="row">
        <button className="stop" disabled={!running} onClick={act(() => api.cancel(id))}>
          Cancel job
        </button>
        <button className="primary" disabled={row.counts.failed === 0 || row.status === 'cancelled'} onClick={act(() => api.retryFailed(id))}>
          Retry failed tasks
        </button>
      </div>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {detail && (
        <>
          <h3>Sample results</h3>
          <ul className="mono small-list">{detail.sample.map((r) => <li key={r.index}>#{r.index}: {r.status === 'done' ? show(r.output) : r.error}</li>)}</ul>
          <h3>Errors</h3>
          {detail.errors.length === 0 ? <p className="muted">None.</p> : <ul className="mono small-list">{detail.errors.map((r) => <li key={r.index}>#{r.index}: {r.status === 'failed' ? r.error : ''}</li>)}</ul>}
          <h3>Attempt history of a task</h3>
          <div className="row">
            <label htmlFor="task-index">Task index</label>
            <input id="task-index" type="number" min={0} max={row.total - 1} value={taskIndex} onChange={(e) => setTaskIndex(e.target.value)} />
            <button className="small" onClick={loadTask}>
              Show
            </button>
          </div>
          {task && <TaskHistory task={task} />}
          <h3>Code</h3>
          <pre className="code" data-testid="detail.code">{detail.code}</pre>
          {detail.summary.assets && (
            <>
              <h3>Assets</h3>
              <ul className="mono small-list" data-testid="detail.assets">
                {detail.summary.assets.map((a) => (
                  <li key={a.name} title={a.sha256}>
                    {a.name}: {formatBytes(a.size)}, sha256 {a.sha256.slice(0, 12)}…
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}
