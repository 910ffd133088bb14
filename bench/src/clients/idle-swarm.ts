/**
 * A swarm of idle volunteers in one process: raw sockets that say hello and keep the heartbeat, and
 * nothing else until told to grant credits. The parent grows it step by step ({type:'grow', to}).
 * Told `busy`, some of them work as tabs running long tasks do: one lease at a time, its outcome sent
 * `holdMs` after it came (the first one after a random part of that, so they do not beat in step).
 */
import type { TaskOutcome } from '@barnraise/shared';
import { RawVolunteer } from '../lib/raw-volunteer.ts';
import { exitWithParent, flags, onParent, toParent } from './ipc.ts';

const f = flags(['url', 'parallel']);
const parallel = Number(f.parallel ?? 200);
const live: RawVolunteer[] = [];
let refused = 0;
const closeCodes: Record<string, number> = {};
/** Volunteers told to work slowly: how long each holds a lease before it answers. */
const holding = new Map<RawVolunteer, { holdMs: number; first: boolean }>();

function open(): RawVolunteer {
  const v = new RawVolunteer({
    url: f.url!,
    threads: 1,
    agent: 'browser',
    // Idle: beats as a tab with no lease does (P5). Told to `want`, it runs trivial tasks at once, holding
    // nothing between frames, so the slower beat stays right.
    idle: true,
    // Hungry mode: run what comes at once (trivial tasks) and give the credit back.
    onTasks: (items, self) => {
      const out: TaskOutcome[] = items.map((t) => ({ a: t.a, ok: true, output: typeof t.input === 'number' ? t.input + 1 : null, ms: 0 }));
      const slow = holding.get(self);
      if (!slow) return self.results(out, out.length);
      const ms = slow.first ? Math.random() * slow.holdMs : slow.holdMs;
      slow.first = false;
      // Told to stop meanwhile: answer, but ask for nothing more.
      setTimeout(() => self.results(out, holding.has(self) ? out.length : 0), ms);
    },
  });
  v.ws.on('close', (code) => (closeCodes[code] = (closeCodes[code] ?? 0) + 1));
  return v;
}

async function grow(to: number): Promise<void> {
  const t0 = performance.now();
  let next = live.length;
  const worker = async () => {
    while (next < to) {
      next++;
      const v = open();
      try {
        await v.joined();
        live.push(v);
      } catch {
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  toParent({ type: 'grown', count: live.filter((v) => !v.closed).length, refused, closeCodes, ms: performance.now() - t0 });
}

onParent(async (msg) => {
  if (msg.type === 'grow') await grow(Number(msg.to));
  else if (msg.type === 'want') {
    for (const v of live) v.want(Number(msg.n));
    toParent({ type: 'wanted' });
  } else if (msg.type === 'busy') {
    const working = live.filter((v) => !v.closed).slice(0, Number(msg.count));
    for (const v of working) {
      holding.set(v, { holdMs: Number(msg.holdMs), first: true });
      v.beatBusy();
    }
    for (const v of working) v.want(1);
    toParent({ type: 'busy', count: working.length });
  } else if (msg.type === 'pause') {
    holding.clear();
    for (const v of live) v.send({ type: 'pause' });
    toParent({ type: 'paused' });
  } else if (msg.type === 'silence') {
    // Stop every heartbeat (the master drops them all after its timeout): what idle costs without them.
    for (const v of live) v.silence();
    toParent({ type: 'silenced' });
  } else if (msg.type === 'status') {
    toParent({ type: 'status', open: live.filter((v) => !v.closed).length, closeCodes });
  }
});
exitWithParent(() => live.forEach((v) => v.terminate()));
toParent({ type: 'started' });
