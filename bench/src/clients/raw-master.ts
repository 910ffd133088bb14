/**
 * The raw limit's server: a WebSocket server on loopback speaking just enough of the volunteer protocol
 * (welcome, job once, tasks, ack, hb) with the master's frame shapes and credit rules, but no schema
 * validation, no scheduler and no storage. Tasks are a counter; acks go out every 10 ms as the group
 * commit would send them, to a volunteer that asked for them at hello (D2; ours do not). It measures how
 * fast tasks can cross the sockets and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { Limits, PROTOCOL_VERSION, VOLUNTEER_PATH, type MasterMessage, type VolunteerMessage } from '@barnraise/shared';
import { exitWithParent, flags, onParent, toParent } from './ipc.ts';

const f = flags(['connections', 'code']);
const expected = Number(f.connections ?? 8);
const code = f.code ?? 'export default (n) => n + 1';
const boot = randomBytes(4).toString('base64url');

interface Conn {
  ws: WebSocket;
  maxCredits: number;
  credits: number;
  held: number;
  jobSent: boolean;
  /** Attempts to acknowledge; null: its hello did not ask for acks. */
  acks: string[] | null;
}

const conns = new Set<Conn>();
let seq = 0;
let run: { job: string; total: number; next: number; done: number; t0: number; framesIn: number; itemsIn: number; framesOut: number; itemsOut: number } | null = null;
let pumpQueued = false;

const send = (c: Conn, msg: MasterMessage) => c.ws.send(JSON.stringify(msg));

function schedulePump(): void {
  if (pumpQueued) return;
  pumpQueued = true;
  // Like the master: every frame that arrived in this turn is answered by one dispatch.
  setImmediate(() => {
    pumpQueued = false;
    pump();
  });
}

function pump(): void {
  if (!run) return;
  for (const c of conns) {
    const k = Math.min(c.credits, run.total - run.next);
    if (k <= 0) continue;
    if (!c.jobSent) {
      c.jobSent = true;
      send(c, { type: 'job', id: run.job, name: run.job, code, timeoutMs: 60_000 });
    }
    const items = new Array(k);
    for (let j = 0; j < k; j++) {
      const i = run.next++;
      items[j] = { a: `${boot}.${(seq++).toString(36)}`, job: run.job, i, input: i };
    }
    c.credits -= k;
    c.held += k;
    run.framesOut++;
    run.itemsOut += k;
    send(c, { type: 'tasks', items });
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: VOLUNTEER_PATH, perMessageDeflate: false, maxPayload: Limits.maxFrameBytes });
wss.on('connection', (ws) => {
  const c: Conn = { ws, maxCredits: 4, credits: 0, held: 0, jobSent: false, acks: null };
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as VolunteerMessage;
    switch (msg.type) {
      case 'hello':
        c.maxCredits = Math.min(Limits.maxCreditsPerConnection, 4 * msg.threads);
        if (msg.acks) c.acks = [];
        conns.add(c);
        send(c, { type: 'welcome', v: PROTOCOL_VERSION, volunteerId: `v_${randomBytes(6).toString('base64url')}`, heartbeatMs: 2000, maxCredits: c.maxCredits, title: 'bench' });
        if (conns.size === expected) toParent({ type: 'ready' });
        return;
      case 'want':
        c.credits = Math.min(c.credits + msg.n, c.maxCredits - c.held);
        return schedulePump();
      case 'results': {
        c.held -= msg.items.length;
        c.credits = Math.min(c.credits + (msg.want ?? 0), c.maxCredits - c.held);
        if (c.acks) for (const item of msg.items) c.acks.push(item.a);
        if (run) {
          run.framesIn++;
          run.itemsIn += msg.items.length;
          run.done += msg.items.length;
          if (run.done >= run.total) {
            const ms = performance.now() - run.t0;
            const r = run;
            run = null;
            toParent({ type: 'done', ms, tasks: r.total, framesIn: r.framesIn, itemsIn: r.itemsIn, framesOut: r.framesOut, itemsOut: r.itemsOut });
            return;
          }
        }
        return schedulePump();
      }
      case 'hb':
        return send(c, { type: 'hb', t: Date.now() });
      case 'release':
        c.held -= msg.attempts.length;
        return;
      default:
        return;
    }
  });
  ws.on('close', () => conns.delete(c));
});

const acker = setInterval(() => {
  for (const c of conns) {
    if (!c.acks || c.acks.length === 0) continue;
    send(c, { type: 'ack', attempts: c.acks });
    c.acks = [];
  }
}, 10);

onParent((msg) => {
  if (msg.type !== 'go') return;
  const job = `j_${randomBytes(8).toString('base64url')}`;
  for (const c of conns) c.jobSent = false;
  run = { job, total: Number(msg.tasks), next: 0, done: 0, t0: performance.now(), framesIn: 0, itemsIn: 0, framesOut: 0, itemsOut: 0 };
  schedulePump();
});

exitWithParent(() => {
  clearInterval(acker);
  for (const c of conns) c.ws.terminate();
  wss.close();
});
wss.on('listening', () => toParent({ type: 'listening', port: (wss.address() as { port: number }).port }));
