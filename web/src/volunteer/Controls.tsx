/** Start/Stop, the Threads control, "Pause while this tab is hidden", and Resume for a returning visitor. */
import { useId } from 'react';
import { setPauseWhenHidden, setThreads, start, stop } from './controller.ts';
import { maxThreads, selectLifetimeTasks, selectPauseWhenHidden, selectResumable, selectRunning, selectThreads, useVolunteer } from './store.ts';
import { formatCount } from '../ui/format.ts';

export function Controls() {
  const running = useVolunteer(selectRunning);
  const threads = useVolunteer(selectThreads);
  const pauseWhenHidden = useVolunteer(selectPauseWhenHidden);
  const resumable = useVolunteer(selectResumable);
  const lifetime = useVolunteer(selectLifetimeTasks);
  const threadsId = useId();
  const max = maxThreads();
  return (
    <div className="controls">
      {resumable && !running && (
        <div className="resume" role="region" aria-label="Welcome back" data-testid="volunteer.resume">
          <p>
            Welcome back: this browser has completed {formatCount(lifetime)} tasks. Carry on with {threads} {threads === 1 ? 'thread' : 'threads'}?
          </p>
          <button type="button" className="primary" onClick={start}>
            Resume
          </button>
        </div>
      )}
      <div className="row">
        {running ? (
          <button type="button" className="stop" onClick={stop}>
            Stop
          </button>
        ) : (
          // With Resume on offer, Start is the second choice (same effect, the saved threads apply to both).
          <button type="button" className={resumable ? 'secondary' : 'primary'} onClick={start}>
            Start
          </button>
        )}
      </div>
      <div className="row">
        <label htmlFor={threadsId}>Threads</label>
        <input
          id={threadsId}
          type="range"
          min={1}
          max={max}
          step={1}
          value={threads}
          disabled={max === 1}
          onChange={(e) => setThreads(Number(e.currentTarget.value))}
        />
        <output htmlFor={threadsId} data-testid="volunteer.threads">
          {threads} of {max}
        </output>
      </div>
      <div className="row">
        <label>
          <input type="checkbox" checked={pauseWhenHidden} onChange={(e) => setPauseWhenHidden(e.currentTarget.checked)} /> Pause while this tab is
          hidden
        </label>
      </div>
    </div>
  );
}
