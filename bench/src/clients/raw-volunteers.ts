/**
 * The raw limit's client: `connections` sockets in one process, each granting the real worker's credits
 * (threads × prefetch) and answering every tasks frame with one results frame that returns its credits,
 * computing n + 1 inline (no worker_threads).
 */
import type { TaskOutcome } from '@barnraise/shared';
import { RawVolunteer } from '../lib/raw-volunteer.ts';
import { exitWithParent, fail, flags, toParent } from './ipc.ts';

const f = flags(['url', 'connections', 'credits']);
const credits = Number(f.credits ?? 2);
const volunteers: RawVolunteer[] = [];
for (let k = 0; k < Number(f.connections ?? 8); k++) {
  volunteers.push(
    new RawVolunteer({
      url: f.url!,
      threads: 1,
      onTasks: (items, v) => {
        const out: TaskOutcome[] = items.map((t) => ({ a: t.a, ok: true, output: (t.input as number) + 1, ms: 0 }));
        v.results(out, out.length);
      },
    }),
  );
}
exitWithParent(() => volunteers.forEach((v) => v.close()));
Promise.all(volunteers.map((v) => v.joined()))
  .then(() => {
    for (const v of volunteers) v.want(credits);
    toParent({ type: 'ready' });
  })
  .catch(fail);
