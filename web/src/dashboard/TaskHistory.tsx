import type { TaskDetailReply } from '@barnraise/shared';
import { IdentityId } from './Trust.tsx';

const show = (v: unknown) => JSON.stringify(v);

/**
 * One task as job detail shows it: its state, input and result, every attempt (who ran it, how it ended),
 * and for a validated job every replica and check with its identity, output hash and verdict.
 */
export function TaskHistory({ task }: { task: TaskDetailReply }) {
  return (
    <div data-testid="detail.task">
      <p>
        Task {task.index}: {task.state}, input <code>{show(task.input)}</code>
        {task.state === 'done' && <> → <code>{show(task.output)}</code></>}
        {task.error && <> ({task.error})</>}
      </p>
      <ol className="small-list">
        {task.attempts.map((a) => (
          <li key={a.attempt}>
            {a.end} on {a.volunteer} after {Math.max(0, a.endedAt - a.leasedAt)} ms{a.error ? `: ${a.error}` : ''}
          </li>
        ))}
        {task.attempts.length === 0 && <li className="muted">No attempt has ended yet.</li>}
      </ol>
      {task.replicas && <Replicas replicas={task.replicas} />}
    </div>
  );
}

type Replica = NonNullable<TaskDetailReply['replicas']>[number];

function Replicas({ replicas }: { replicas: Replica[] }) {
  return (
    <>
      <h4>Replicas and checks</h4>
      {replicas.length === 0 ? (
        <p className="muted">No result yet.</p>
      ) : (
        <div className="scroll">
          <table data-testid="detail.task.replicas">
            <thead>
              <tr>
                <th>Identity</th>
                <th>Kind</th>
                <th>Output hash</th>
                <th>Verdict</th>
                <th>Leased at</th>
              </tr>
            </thead>
            <tbody>
              {replicas.map((r) => (
                <tr key={r.attempt} data-testid={`detail.replica.${r.attempt}`}>
                  <td>
                    <IdentityId id={r.identity} />
                  </td>
                  <td>{r.kind}</td>
                  <td className="mono" title={r.error ?? undefined}>
                    {r.ok ? r.hash : `failed${r.error ? `: ${r.error.slice(0, 60)}` : ''}`}
                  </td>
                  <td className={`verdict ${r.verdict}`} data-testid={`detail.replica.verdict.${r.attempt}`}>
                    {r.verdict}
                  </td>
                  <td>{new Date(r.at).toLocaleTimeString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
