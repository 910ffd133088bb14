import { formatCount, formatRate } from '../ui/format.ts';
import { Stat } from '../ui/Stat.tsx';
import { selectFeedState, selectSwarm, useDashboard } from './store.ts';
import { ThroughputChart } from './ThroughputChart.tsx';

export function SwarmCard() {
  const swarm = useDashboard(selectSwarm);
  const feed = useDashboard(selectFeedState);
  return (
    <section className="card" aria-labelledby="swarm-h">
      <h2 id="swarm-h">
        Swarm <span className={`feed ${feed}`} data-testid="feed.state">{feed}</span>
      </h2>
      <dl className="stats">
        <Stat label="Volunteers online" testId="swarm.volunteers">{swarm ? formatCount(swarm.volunteers) : '–'}</Stat>
        <Stat label="Threads" testId="swarm.threads">{swarm ? formatCount(swarm.threads) : '–'}</Stat>
        <Stat label="Tasks per second" testId="swarm.rate">{swarm ? formatRate(swarm.tasksPerSecond) : '–'}</Stat>
        <Stat label="Queued" testId="swarm.queued">{swarm ? formatCount(swarm.queued) : '–'}</Stat>
        <Stat label="Leased" testId="swarm.leased">{swarm ? formatCount(swarm.leased) : '–'}</Stat>
        <Stat label="Tasks done" testId="swarm.done">{swarm ? formatCount(swarm.tasksDone) : '–'}</Stat>
      </dl>
      <ThroughputChart />
    </section>
  );
}
