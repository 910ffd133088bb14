/**
 * `connections` headless volunteers in ONE process, each its own WebSocket with `threads` worker_threads:
 * the real HeadlessVolunteer of server/src/worker, as `barnraise worker` runs it, times N.
 */
import { HeadlessVolunteer } from '../../../server/src/worker/volunteer.ts';
import { exitWithParent, flags, onParent, toParent } from './ipc.ts';

const f = flags(['url', 'connections', 'threads', 'prefetch']);
const volunteers = Array.from(
  { length: Number(f.connections ?? 8) },
  () => new HeadlessVolunteer({ url: f.url!, threads: Number(f.threads ?? 1), prefetch: Number(f.prefetch ?? 2) }),
);
for (const v of volunteers) v.start();
exitWithParent(() => Promise.all(volunteers.map((v) => v.stop())).then(() => {}));
onParent((msg) => {
  if (msg.type === 'count') toParent({ type: 'count', completed: volunteers.reduce((s, v) => s + v.completed, 0), connections: volunteers.reduce((s, v) => s + v.connections, 0) });
});
toParent({ type: 'started' });
