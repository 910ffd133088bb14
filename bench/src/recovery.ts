/**
 * 5. Recovery: a volunteer holds leases and then (a) closes its socket like a closing tab, or (b) goes
 * silent with its socket open like a frozen tab. Timed from that moment until another volunteer, already
 * waiting with credits, receives those tasks. Both volunteers are raw clients in this process, so one
 * clock times both ends.
 */
import type { Lease } from '@barnraise/shared';
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { sleep, waitUntil } from './lib/proc.ts';
import { RawVolunteer } from './lib/raw-volunteer.ts';
import { median } from './lib/stats.ts';
import { fmt, verdict, Verdict, type Row } from './lib/table.ts';

const HOLD = 4;

async function once(master: Master, api: Api, how: 'close' | 'silent', heartbeatTimeoutMs: number): Promise<number> {
  let held: Lease[] = [];
  const a = new RawVolunteer({ url: master.url, onTasks: (items) => (held = held.concat(items)) });
  await a.joined();
  a.want(HOLD);
  const job = await api.createJob({ name: `recovery-${how}`, code: PLUS_ONE, inputs: range(HOLD) });
  await waitUntil('the first volunteer leased every task', () => held.length === HOLD, 10_000, 5);

  let received = 0;
  let at = 0;
  const b = new RawVolunteer({
    url: master.url,
    onTasks: (items, v) => {
      received += items.length;
      if (received >= HOLD && !at) at = performance.now();
      v.results(items.map((t) => ({ a: t.a, ok: true, output: (t.input as number) + 1, ms: 0 })));
    },
  });
  try {
    await b.joined();
    b.want(HOLD);
    // Let b's credits reach the master (it answers its hb only after reading the want before it).
    await sleep(100);
    let t0: number;
    if (how === 'close') {
      t0 = performance.now();
      a.close(1001); // "going away", what a closing tab sends
    } else {
      a.send({ type: 'hb' });
      a.silence();
      t0 = a.lastSent;
    }
    const timeout = heartbeatTimeoutMs * 3 + 10_000;
    await waitUntil(`the tasks leased again after ${how}`, () => at, timeout, 2);
    await api.waitCompleted(job.id, 30_000, 20);
    return at - t0;
  } finally {
    a.terminate();
    b.terminate();
  }
}

export const recoveryBench: Bench = async (ctx): Promise<BenchResult> => {
  // Quick: 500 ms beats (timeout 2 s) so a silent tab costs 2 s, not 8. Full: the defaults.
  const heartbeatMs = ctx.quick ? 500 : 2000;
  const timeoutMs = 4 * heartbeatMs;
  const tickMs = Math.min(500, Math.max(50, heartbeatMs / 4));
  const reps = ctx.quick ? { close: 3, silent: 2 } : { close: 5, silent: 3 };
  const master = await Master.start({ env: ctx.quick ? { BARNRAISE_HEARTBEAT_MS: String(heartbeatMs) } : {} });
  const api = new Api(master.url, master.token);
  try {
    const closed: number[] = [];
    for (let r = 0; r < reps.close; r++) closed.push(await once(master, api, 'close', timeoutMs));
    ctx.log(`closed tab: ${closed.map((ms) => fmt(ms, 1)).join(', ')} ms`);
    const silent: number[] = [];
    for (let r = 0; r < reps.silent; r++) silent.push(await once(master, api, 'silent', timeoutMs));
    ctx.log(`silent tab: ${silent.map((ms) => fmt(ms)).join(', ')} ms`);
    const bound = timeoutMs + tickMs;
    const rows: Row[] = [
      {
        bench: 'recovery',
        figure: `tab closes → its tasks leased again (median of ${reps.close})`,
        value: `${fmt(median(closed), 1)} ms (max ${fmt(Math.max(...closed), 1)})`,
        beside: 'requeued on close, no timeout involved',
        target: '',
        verdict: Verdict.info,
      },
      {
        bench: 'recovery',
        figure: `tab goes silent → its tasks leased again (median of ${reps.silent})`,
        value: `${fmt(median(silent))} ms (max ${fmt(Math.max(...silent))})`,
        beside: `heartbeat timeout ${fmt(timeoutMs)} ms + ticker ${fmt(tickMs)} ms = ${fmt(bound)} ms`,
        target: `<= ${fmt(bound)} ms (the configured bound)`,
        verdict: verdict(Math.max(...silent), { atMost: bound + 50 }),
      },
    ];
    return {
      name: 'recovery',
      rows,
      data: { heartbeatMs, heartbeatTimeoutMs: timeoutMs, tickMs, leasesHeld: HOLD, closeMs: closed, silentMs: silent },
      notes: [
        `Master with BARNRAISE_HEARTBEAT_MS=${heartbeatMs}${ctx.quick ? ' (quick run; the default is 2000)' : ' (the default)'}: a volunteer is dropped after ${fmt(timeoutMs)} ms of silence, checked every ${tickMs} ms. Volunteer A holds ${HOLD} leases; B is connected with ${HOLD} credits; timed from A's close (code 1001) or A's last frame until B has received all ${HOLD} tasks.`,
      ],
    };
  } finally {
    await master.dispose();
  }
};
