/** This tab's live state: connection, tasks, CPU time, current job, workers. */
import { Stat } from '../ui/Stat.tsx';
import { formatBytes, formatCount, formatDuration } from '../ui/format.ts';
import { ConnectionState } from '@barnraise/shared';
import {
  selectConnection,
  selectCpuMs,
  selectCurrentJob,
  selectIdentity,
  selectProblem,
  selectPython,
  selectRunning,
  selectTasksDone,
  selectTasksFailed,
  selectWorkersAlive,
  selectWorkersBusy,
  useVolunteer,
  type PythonView,
} from './store.ts';

const connectionText: Record<ConnectionState, string> = {
  idle: 'not connected',
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  failed: 'refused by the master',
};

export function MyStats() {
  const connection = useVolunteer(selectConnection);
  const problem = useVolunteer(selectProblem);
  const running = useVolunteer(selectRunning);
  const tasksDone = useVolunteer(selectTasksDone);
  const tasksFailed = useVolunteer(selectTasksFailed);
  const cpuMs = useVolunteer(selectCpuMs);
  const job = useVolunteer(selectCurrentJob);
  const alive = useVolunteer(selectWorkersAlive);
  const busy = useVolunteer(selectWorkersBusy);
  const identity = useVolunteer(selectIdentity);
  const python = useVolunteer(selectPython);
  return (
    <>
      <p className={`status ${connection}`} role="status" aria-live="polite">
        <span className="dot" aria-hidden="true" />
        <span data-testid="volunteer.connection">{connectionText[connection]}</span>
        {problem && <span className="problem" data-testid="volunteer.problem"> ({problem})</span>}
      </p>
      <dl className="stats">
        <Stat label="Tasks completed" testId="volunteer.tasks-done">
          {formatCount(tasksDone)}
        </Stat>
        <Stat label="CPU time given" testId="volunteer.cpu-time">
          {formatDuration(cpuMs)}
        </Stat>
        <Stat label="Workers busy" testId="volunteer.workers">
          {busy} / {alive}
        </Stat>
        <Stat label="Tasks failed" testId="volunteer.tasks-failed">
          {formatCount(tasksFailed)}
        </Stat>
      </dl>
      <p className="current-job">
        Current job: <strong data-testid="volunteer.current-job">{running && job ? job : '—'}</strong>
      </p>
      {python && <PythonStatus python={python} />}
      {identity && (
        <p className="identity">
          Your anonymous volunteer identity: <code data-testid="volunteer.identity">{identity}</code>
        </p>
      )}
    </>
  );
}

/** [Y6] Python jobs need Pyodide: the page says when it loads it, and how much it downloads (once: then it is cached). */
function PythonStatus({ python }: { python: PythonView }) {
  const text =
    python.pendingBytes > 0
      ? `Loading Python for a Python job: ${formatBytes(python.pendingBytes)} to fetch (downloaded once, then kept in this browser)…`
      : python.downloadedBytes > 0
        ? `Python ready: ${formatBytes(python.downloadedBytes)} downloaded, kept for your next visit. Each thread starts it with its first Python task (about a second).`
        : `Python ready from this browser's cache: nothing downloaded. Each thread starts it with its first Python task.`;
  return (
    <p className="python" data-testid="volunteer.python" data-downloaded={python.downloadedBytes} data-pending={python.pendingBytes}>
      {text}
    </p>
  );
}
