/** The page at `/`: what runs and who runs it, the visitor's controls, their contribution, the swarm. */
import { Controls } from './Controls.tsx';
import { MyStats } from './MyStats.tsx';
import { SwarmPanel } from './SwarmPanel.tsx';
import { selectSite, useVolunteer } from './store.ts';

export function VolunteerPage() {
  const site = useVolunteer(selectSite);
  return (
    <main>
      <header>
        <h1 data-testid="site.title">{site?.title ?? 'Barnraise'}</h1>
        <p data-testid="site.description">{site?.description ?? ''}</p>
      </header>
      <section className="card" aria-labelledby="donate-heading">
        <h2 id="donate-heading">Donate this tab's CPU</h2>
        <Controls />
        <MyStats />
      </section>
      <SwarmPanel />
      <footer>
        <p>
          Tasks run in sandboxed Web Workers: they cannot reach the network, this page or your browser's storage. Nothing runs until you press
          Start; Stop or closing the tab ends it, and unfinished tasks go back to the swarm.
        </p>
      </footer>
    </main>
  );
}
