import { selectEvents, useDashboard } from './store.ts';

/** The last events, newest first (bounded on the master and here). */
export function EventLog() {
  const events = useDashboard(selectEvents);
  return (
    <section className="card" aria-labelledby="events-h">
      <h2 id="events-h">Events</h2>
      <ol className="events" data-testid="events.list" reversed>
        {[...events].reverse().map((e) => (
          <li key={e.seq} className={`event ${e.kind}`}>
            <time dateTime={new Date(e.t).toISOString()}>{new Date(e.t).toLocaleTimeString()}</time> {e.text}
          </li>
        ))}
      </ol>
    </section>
  );
}
