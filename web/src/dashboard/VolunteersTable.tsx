import { useEffect } from 'react';
import { formatCount, formatDuration, formatRate } from '../ui/format.ts';
import { useServices } from './services.ts';
import { selectVolunteers, selectVolunteersPage, useDashboard } from './store.ts';
import { IdentityId, TrustBadge } from './Trust.tsx';
import { Pager } from './Pager.tsx';

export const VOLUNTEERS_PAGE = 25;

/** Volunteers, one page at a time: the master streams only the page shown, whatever the swarm's size. */
export function VolunteersTable() {
  const page = useDashboard(selectVolunteers);
  const pageNo = useDashboard(selectVolunteersPage);
  const setPage = useDashboard((s) => s.setVolunteersPage);
  const { feed } = useServices();
  const pages = Math.max(1, Math.ceil(page.total / VOLUNTEERS_PAGE));

  useEffect(() => {
    feed.showVolunteers(pageNo * VOLUNTEERS_PAGE, VOLUNTEERS_PAGE);
  }, [feed, pageNo]);

  return (
    <section className="card" aria-labelledby="vol-h">
      <h2 id="vol-h">
        Volunteers <span className="muted" data-testid="volunteers.total">{formatCount(page.total)}</span>
      </h2>
      <div className="scroll">
        <table data-testid="volunteers.table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Identity</th>
              <th>Trust</th>
              <th>Checks</th>
              <th>Browser</th>
              <th>OS</th>
              <th>Threads</th>
              <th>Done</th>
              <th>Tasks/s</th>
              <th>Leases</th>
              <th>Heartbeat</th>
              <th>Connected</th>
            </tr>
          </thead>
          <tbody>
            {page.rows.map((v) => (
              <tr key={v.id} data-testid={`volunteers.row.${v.id}`}>
                <td className="mono">{v.id}</td>
                <td>
                  <IdentityId id={v.identity} testId={`volunteers.identity.${v.id}`} />
                </td>
                <td>
                  <TrustBadge trust={v.trust} testId={`volunteers.trust.${v.id}`} />
                </td>
                <td title="blind checks its identity passed">{formatCount(v.checksPassed)}</td>
                <td>{v.browser}</td>
                <td>{v.os}</td>
                <td>{v.threads}</td>
                <td>{formatCount(v.tasksDone)}</td>
                <td>{formatRate(v.tasksPerSecond)}</td>
                <td>{v.leases}</td>
                <td>{formatDuration(v.heartbeatAgeMs)} ago</td>
                <td>{new Date(v.connectedAt).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager label="Volunteers pages" pageNo={pageNo} pages={pages} setPage={setPage} />
    </section>
  );
}
