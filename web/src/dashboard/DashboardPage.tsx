import { useEffect, useMemo, useState } from 'react';
import { operatorApi } from './api.ts';
import { EventLog } from './EventLog.tsx';
import { IdentitiesTable } from './IdentitiesTable.tsx';
import { connectFeed, type FeedConnection } from './feed-client.ts';
import { JobDetail } from './JobDetail.tsx';
import { JobsTable } from './JobsTable.tsx';
import { JoinCard } from './JoinCard.tsx';
import { Login } from './Login.tsx';
import { ServicesContext, type Services } from './services.ts';
import { selectToken, useDashboard } from './store.ts';
import { SubmitJob } from './SubmitJob.tsx';
import { SwarmCard } from './SwarmCard.tsx';
import { VOLUNTEERS_PAGE, VolunteersTable } from './VolunteersTable.tsx';

/** /dashboard: asks for the token once, then shows the swarm live. */
export function DashboardPage() {
  const token = useDashboard(selectToken);
  return token ? <Dashboard token={token} /> : <Login />;
}

function Dashboard({ token }: { token: string }) {
  const signOut = useDashboard((s) => s.signOut);
  const [feed, setFeed] = useState<FeedConnection | null>(null);
  useEffect(() => {
    const f = connectFeed(token, VOLUNTEERS_PAGE);
    setFeed(f);
    return () => f.close();
  }, [token]);
  const services = useMemo<Services | null>(() => (feed ? { api: operatorApi(token), feed } : null), [token, feed]);
  if (!services) return null;
  return (
    <ServicesContext.Provider value={services}>
      <main className="wide">
        <header className="row spread">
          <h1>Barnraise dashboard</h1>
          <button className="small plain" onClick={() => signOut()}>
            Sign out
          </button>
        </header>
        <div className="grid">
          <div>
            <SwarmCard />
            <JobDetail />
            <JobsTable />
            <VolunteersTable />
            <IdentitiesTable />
          </div>
          <div>
            <JoinCard />
            <SubmitJob />
            <EventLog />
          </div>
        </div>
      </main>
    </ServicesContext.Provider>
  );
}
