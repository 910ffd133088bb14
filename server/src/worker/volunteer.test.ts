/**
 * The headless volunteer against a minimal master on loopback (a WebSocket server speaking the volunteer
 * protocol): outcomes that come back from a thread together leave in one `results` frame.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION, type MasterMessage, type TaskOutcome, type VolunteerMessage } from '@barnraise/shared';
import { HeadlessVolunteer } from './volunteer.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Serves `total` tasks of n => n + 1 as credits come, and records every results frame. */
async function master(total: number) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  cleanup.push(() => new Promise((r) => wss.close(() => r())));
  const frames: TaskOutcome[][] = [];
  let sent = 0;
  wss.on('connection', (ws) => {
    const send = (m: MasterMessage) => ws.send(JSON.stringify(m));
    send({ type: 'challenge', nonce: 'a-nonce-for-this-test' });
    const lease = (n: number) => {
      const items = [];
      for (; n > 0 && sent < total; n--, sent++) items.push({ a: `a${sent}`, job: 'inc', i: sent, input: sent });
      if (items.length > 0) send({ type: 'tasks', items });
    };
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as VolunteerMessage;
      if (m.type === 'hello') {
        send({ type: 'welcome', v: PROTOCOL_VERSION, volunteerId: 'v1', heartbeatMs: 60_000, maxCredits: 64, title: 'test' });
        send({ type: 'job', id: 'inc', name: 'inc', code: 'export default (n) => n + 1;', timeoutMs: 10_000 });
      }
      if (m.type === 'want') lease(m.n);
      if (m.type === 'results') {
        frames.push(m.items);
        lease(m.want ?? 0);
      }
    });
  });
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, frames };
}

describe('HeadlessVolunteer', () => {
  it('sends the outcomes of a batch in one results frame, each attempt once', async () => {
    const total = 300;
    const m = await master(total);
    const v = new HeadlessVolunteer({ url: m.url, threads: 1, prefetch: 16 });
    cleanup.push(() => v.stop());
    v.start();
    const deadline = Date.now() + 20_000;
    while (m.frames.flat().length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const items = m.frames.flat();
    expect(items.map((t) => t.a).sort()).toEqual(Array.from({ length: total }, (_, n) => `a${n}`).sort());
    for (const t of items) expect(t).toMatchObject({ ok: true, output: Number(t.a.slice(1)) + 1 });
    // One thread message per attempt left ~1.2 outcomes per frame; a batch's outcomes travel together.
    expect(m.frames.length, `${total} outcomes in ${m.frames.length} frames`).toBeLessThan(total / 4);
  });
});
