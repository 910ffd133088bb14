/**
 * The cluster benchmark's swarm: `connections` headless volunteers in ONE process (the real HeadlessVolunteer,
 * as `barnraise worker --url a --url b ...` runs it), spread over the masters: volunteer k lists every
 * master, starting with master k mod n, so it joins that one and moves to the next when it fails.
 *
 * `mark {home}` (sent before a master is killed): remember the connection count of the volunteers whose
 * first master is `home`; then report, for each, when it was welcomed by another master and when it next
 * completed a task there (`back`, Date.now() times, the clock the parent shares).
 */
import { ThreadPool } from '../../../server/src/worker/pool.ts';
import { HeadlessVolunteer } from '../../../server/src/worker/volunteer.ts';
import { exitWithParent, flags, onParent, toParent } from './ipc.ts';

const f = flags(['urls', 'connections', 'threads', 'prefetch']);
const urls = f.urls!.split(',');
const volunteers = Array.from({ length: Number(f.connections ?? 6) }, (_, k) => {
  const mine = [...urls.slice(k % urls.length), ...urls.slice(0, k % urls.length)];
  // Each volunteer's few log lines (connected, disconnected, joined) with the time, on stderr: the parent
  // keeps them to show what a slow return did.
  const log = (msg: string) => process.stderr.write(`${Date.now()} v${k} ${msg}\n`);
  // No --prefetch: the default, as `barnraise worker` runs (leases by task length, SPEC P3).
  return new HeadlessVolunteer({ url: mine, threads: Number(f.threads ?? 1), ...(f.prefetch ? { prefetch: Number(f.prefetch) } : {}), log });
});
for (const v of volunteers) v.start();
exitWithParent(() => Promise.all(volunteers.map((v) => v.stop())).then(() => {}));

interface Watch {
  k: number;
  connections: number;
  welcomedAt?: number;
  completedThen?: number;
  workingAt?: number;
}

/** Sample the watched volunteers every 2 ms (a counter read each) until all of them work again, at most 60 s. */
function watch(home: number): void {
  const group: Watch[] = volunteers.flatMap((v, k) => (k % urls.length === home ? [{ k, connections: v.connections }] : []));
  toParent({ type: 'marked', volunteers: group.length });
  const deadline = Date.now() + 60_000;
  const timer = setInterval(() => {
    const now = Date.now();
    for (const w of group) {
      const v = volunteers[w.k]!;
      if (w.welcomedAt === undefined && v.connections > w.connections) {
        w.welcomedAt = now;
        w.completedThen = v.completed;
      }
      if (w.welcomedAt !== undefined && w.workingAt === undefined && v.completed > w.completedThen!) w.workingAt = now;
    }
    if (group.every((w) => w.workingAt !== undefined) || now > deadline) {
      clearInterval(timer);
      // How long a fresh compute thread takes to boot now: a volunteer whose thread was busy when its socket
      // closed has it replaced (pool.reset), and asks for work once the new one is up.
      void bootMs().then((ms) =>
        toParent({ type: 'back', bootMs: ms, volunteers: group.map(({ k, welcomedAt, workingAt }) => ({ k, welcomedAt: welcomedAt ?? null, workingAt: workingAt ?? null })) }),
      );
    }
  }, 2);
}

async function bootMs(): Promise<number> {
  const t0 = performance.now();
  const pool = new ThreadPool(1, { started: () => {}, progress: () => {}, done: () => {}, changed: () => {} });
  await pool.whenReady();
  const ms = performance.now() - t0;
  await pool.close();
  return ms;
}

onParent((msg) => {
  if (msg.type === 'mark') watch(Number(msg.home));
  if (msg.type === 'count') toParent({ type: 'count', completed: volunteers.reduce((s, v) => s + v.completed, 0), connections: volunteers.reduce((s, v) => s + v.connections, 0) });
});
toParent({ type: 'started' });
