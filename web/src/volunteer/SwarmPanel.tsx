/** Swarm totals and the jobs now running. */
import { Progress } from '../ui/Progress.tsx';
import { Stat } from '../ui/Stat.tsx';
import { formatCount, formatRate } from '../ui/format.ts';
import { selectSwarm, useVolunteer } from './store.ts';

export function SwarmPanel() {
  const swarm = useVolunteer(selectSwarm);
  return (
    <section className="card" aria-labelledby="swarm-heading">
      <h2 id="swarm-heading">The swarm</h2>
      <dl className="stats">
        <Stat label="Volunteers online" testId="swarm.volunteers">
          {swarm ? formatCount(swarm.volunteers) : '…'}
        </Stat>
        <Stat label="Tasks done" testId="swarm.tasks-done">
          {swarm ? formatCount(swarm.tasksDone) : '…'}
        </Stat>
        <Stat label="Tasks per second" testId="swarm.rate">
          {swarm ? formatRate(swarm.tasksPerSecond) : '…'}
        </Stat>
      </dl>
      <h3>Jobs running</h3>
      {swarm?.jobs && swarm.jobs.length > 0 ? (
        <ul className="jobs" data-testid="swarm.jobs">
          {swarm.jobs.map((j) => (
            <Progress key={j.id} name={j.name} done={j.done} total={j.total} />
          ))}
        </ul>
      ) : (
        <p data-testid="swarm.jobs">
          {!swarm ? '…' : swarm.activeJobs === 0 ? 'No jobs right now: a started tab waits for work.' : `${swarm.activeJobs} ${swarm.activeJobs === 1 ? 'job' : 'jobs'} running.`}
        </p>
      )}
    </section>
  );
}
