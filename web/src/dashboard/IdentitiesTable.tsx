import { useEffect, useState } from 'react';
import type { IdentityPage, IdentityRow } from '@barnraise/shared';
import { formatCount } from '../ui/format.ts';
import { ApiRequestError } from './api.ts';
import { useServices } from './services.ts';
import { selectIdentitiesPage, selectIdentityEventSeq, useDashboard } from './store.ts';
import { IdentityId, TrustBadge } from './Trust.tsx';
import { Pager } from './Pager.tsx';

export const IDENTITIES_PAGE = 20;

const message = (e: unknown) => (e instanceof ApiRequestError ? e.message : String(e));

/**
 * Volunteer identities (SPEC.md section V), newest first, one page at a time from GET /api/identities:
 * refetched on demand and whenever a ban or a trust earned reaches the event log. Ban (confirmed inline,
 * with a reason), vouch and reinstate call the operator routes.
 */
export function IdentitiesTable() {
  const { api } = useServices();
  const pageNo = useDashboard(selectIdentitiesPage);
  const setPage = useDashboard((s) => s.setIdentitiesPage);
  const changed = useDashboard(selectIdentityEventSeq);
  const [page, setData] = useState<IdentityPage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const pages = Math.max(1, Math.ceil((page?.total ?? 0) / IDENTITIES_PAGE));

  useEffect(() => {
    let live = true;
    api.identities(pageNo * IDENTITIES_PAGE, IDENTITIES_PAGE).then(
      (p) => live && setData(p),
      (e: unknown) => live && setProblem(message(e)),
    );
    return () => {
      live = false;
    };
  }, [api, pageNo, changed, reloads]);

  const act = async (f: () => Promise<unknown>) => {
    setProblem(null);
    try {
      await f();
    } catch (e) {
      setProblem(message(e));
    }
    setReloads((n) => n + 1);
  };

  return (
    <section className="card" aria-labelledby="ids-h">
      <div className="row spread">
        <h2 id="ids-h">
          Identities <span className="muted" data-testid="identities.total">{page ? formatCount(page.total) : '–'}</span>
        </h2>
        <button className="small" onClick={() => setReloads((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      <div className="scroll">
        <table data-testid="identities.table">
          <thead>
            <tr>
              <th>Identity</th>
              <th>Trust</th>
              <th>Checks passed</th>
              <th>Failed</th>
              <th>Streak</th>
              <th>Network</th>
              <th>Connections</th>
              <th>Created</th>
              <th>Ban reason</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {page?.rows.map((r) => <Row key={r.id} row={r} act={act} />)}
            {page && page.rows.length === 0 && (
              <tr>
                <td colSpan={10} className="muted">
                  No identity yet: volunteers get one when they first join.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager label="Identities pages" pageNo={pageNo} pages={pages} setPage={setPage} />
    </section>
  );
}

function Row({ row: r, act }: { row: IdentityRow; act: (f: () => Promise<unknown>) => Promise<void> }) {
  const { api } = useServices();
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const banned = r.trust === 'banned';
  return (
    <tr data-testid={`identities.row.${r.id}`}>
      <td>
        <IdentityId id={r.id} />
      </td>
      <td>
        <TrustBadge trust={r.trust} testId={`identities.trust.${r.id}`} />
      </td>
      <td>{formatCount(r.checksPassed)}</td>
      <td>{formatCount(r.checksFailed)}</td>
      <td>{r.streak}</td>
      <td className="mono">{r.network}</td>
      <td>{r.connections}</td>
      <td>{new Date(r.createdAt).toLocaleString()}</td>
      <td className="reason" title={r.banReason ?? undefined}>
        {r.banReason ?? ''}
      </td>
      <td>
        {confirming ? (
          // Confirm before a ban: it closes the identity's connections and sends its unsettled results back.
          <form
            className="row actions confirm"
            onSubmit={(e) => {
              e.preventDefault();
              setConfirming(false);
              void act(() => api.ban(r.id, reason.trim() || undefined));
            }}
          >
            <input aria-label={`Reason for banning ${r.id}`} placeholder="reason (optional)" maxLength={200} value={reason} onChange={(e) => setReason(e.target.value)} />
            <button className="small stop" type="submit" aria-label={`Confirm ban of ${r.id}`}>
              Confirm ban
            </button>
            <button className="small plain" type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <div className="row actions">
            {!banned && (
              <button className="small stop" aria-label={`Ban ${r.id}`} onClick={() => setConfirming(true)}>
                Ban
              </button>
            )}
            {!r.vouched && (
              <button className="small" aria-label={`Vouch for ${r.id}`} onClick={() => void act(() => api.vouch(r.id))}>
                Vouch
              </button>
            )}
            {banned && (
              <button className="small" aria-label={`Reinstate ${r.id}`} onClick={() => void act(() => api.reinstate(r.id))}>
                Reinstate
              </button>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}
