/**
 * The volunteer protocol against a hostile peer (docs/THREAT-MODEL.md S2, S6, S7): size limits with a
 * clear error, outputs the store could not keep, reports on attempts a volunteer does not hold,
 * per-address admission, and a fault in handling one frame closing only that connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, CloseReason, Limits, PROTOCOL_VERSION } from '@barnraise/shared';
import { startSession, type SocketLike } from '../src/hub/session.ts';
import type { IdentityDesk } from '../src/validation/desk.ts';
import type { Scheduler } from '../src/scheduler/scheduler.ts';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, waitFor } from './helpers.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster();
});
afterAll(async () => m.close());

const code = 'export default (n) => n';
const done = (id: string) => waitFor(`job ${id} completed`, async () => (await m.api.job(id)).status === 'completed');

describe('[S6] limits on frames and results, each with a clear error', () => {
  it('[P1] a frame over maxFrameBytes closes only that socket, with 1009', async () => {
    const v = await RawVolunteer.join(m.url);
    const other = await RawVolunteer.join(m.url);
    v.ws.send(JSON.stringify({ type: 'hb', t: 1, pad: 'x'.repeat(Limits.maxFrameBytes) }));
    // 1009 is WebSocket's own "message too big": ws stops reading the frame at the limit and closes.
    expect((await v.closedWith()).code).toBe(1009);
    other.send({ type: 'hb' });
    // The other socket is still served: its next swarm frame comes (an idle volunteer's, rule P5, so within
    // an idle beat, not a busy one).
    const before = other.of('swarm').length;
    const idleMs = other.of('welcome')[0]?.idleHeartbeatMs ?? 0;
    await other.next('swarm', before + 1, 5000 + idleMs);
    expect(other.closed).toBeNull();
    other.close();
  });

  it('an output over maxResultBytes fails its attempt with a message saying so; the volunteer stays', async () => {
    const job = await m.api.createJob({ code, inputs: [1], maxAttempts: 1 });
    const v = await RawVolunteer.join(m.url);
    v.send({ type: 'want', n: 1 });
    const [t] = (await v.next('tasks')).items;
    v.send({ type: 'results', items: [{ a: t!.a, ok: true, output: 'z'.repeat(Limits.maxResultBytes + 1) }] });
    await done(job.id);
    const [line] = await m.api.results(job.id);
    expect(line).toEqual({ index: 0, status: 'failed', error: `the output is ${Limits.maxResultBytes + 3} bytes as JSON; the limit is ${Limits.maxResultBytes}` });
    expect(v.closed).toBeNull();
    v.close();
  });

  it.each([
    [20_000, 'the output cannot be stored: it is nested too deeply to store as JSON'],
    // Encodable on the event loop, not on the store's thread: without the fixed limit this would fail the
    // group commit, with every other volunteer's results in it, again and again.
    [4000, 'the output cannot be stored: it is nested more than 2048 deep'],
  ])('an output nested %i deep fails its attempt, and results of other volunteers in the same commit land', async (depth, error) => {
    const job = await m.api.createJob({ code, inputs: [1, 2, 3, 4], maxAttempts: 1 });
    const evil = await RawVolunteer.join(m.url);
    const honest = await RawVolunteer.join(m.url, 1, '', { acks: true });
    evil.send({ type: 'want', n: 1 });
    const [e] = (await evil.next('tasks')).items;
    honest.send({ type: 'want', n: 3 });
    await waitFor('3 leases for the honest volunteer', () => honest.of('tasks').flatMap((f) => f.items).length === 3);
    const mine = honest.of('tasks').flatMap((f) => f.items);
    // Both in the same turn, so both land in the same group commit.
    evil.ws.send(`{"type":"results","items":[{"a":${JSON.stringify(e!.a)},"ok":true,"output":${'['.repeat(depth)}${']'.repeat(depth)}}]}`);
    honest.send({ type: 'results', items: mine.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    await done(job.id);
    const lines = await m.api.results(job.id);
    expect(lines.filter((l) => l.status === 'done')).toHaveLength(3);
    expect(lines.find((l) => l.index === e!.i)).toEqual({ index: e!.i, status: 'failed', error });
    await honest.next('ack');
    evil.close();
    honest.close();
  });

  it('numbers out of range are protocol errors; a forged huge `ms` does not poison the totals', async () => {
    for (const frame of ['{"type":"want","n":1e400}', '{"type":"want","n":-1}', `{"type":"want","n":${Limits.maxCreditsPerConnection + 1}}`, '{"type":"progress","a":"x","p":2}', '{"type":"want","n":1.5}']) {
      const v = await RawVolunteer.join(m.url);
      v.ws.send(frame);
      expect((await v.closedWith()).code, frame).toBe(CloseCode.ProtocolError);
    }
    const job = await m.api.createJob({ code, inputs: [1] });
    const v = await RawVolunteer.join(m.url);
    v.send({ type: 'want', n: 1 });
    const [t] = (await v.next('tasks')).items;
    v.send({ type: 'results', items: [{ a: t!.a, ok: true, output: 1, ms: 1e300 }] });
    await done(job.id);
    const stats = (await (await m.api.raw('/api/stats')).json()) as Record<string, number>;
    for (const [k, n] of Object.entries(stats)) expect(Number.isFinite(n), k).toBe(true);
    v.close();
  });
});

describe('[S7] a volunteer may report only on its own live attempts', () => {
  it('[L2][L3] results for a neighbour\'s attempt (ids guessed from its own) change nothing', async () => {
    const job = await m.api.createJob({ code: 'export default (n) => n * 10', inputs: [1, 2, 3, 4, 5, 6] });
    const honest = await RawVolunteer.join(m.url);
    const thief = await RawVolunteer.join(m.url);
    honest.send({ type: 'want', n: 3 });
    await waitFor('honest leases', () => honest.of('tasks').flatMap((f) => f.items).length === 3);
    thief.send({ type: 'want', n: 1 });
    const [own] = (await thief.next('tasks')).items;
    // Attempt ids are <boot>.<counter base 36>: guess every neighbour of its own.
    const [boot, n] = own!.a.split('.') as [string, string];
    const guesses = Array.from({ length: 40 }, (_, k) => `${boot}.${(parseInt(n, 36) - 20 + k).toString(36)}`).filter((a) => a !== own!.a);
    thief.send({ type: 'results', items: guesses.map((a) => ({ a, ok: true, output: 'forged' })) });
    thief.send({ type: 'results', items: guesses.map((a) => ({ a, ok: false, error: 'forged failure' })) });
    thief.send({ type: 'release', attempts: guesses });
    thief.send({ type: 'progress', a: guesses[0]!, p: 0.5 });
    await new Promise((r) => setTimeout(r, 100));
    expect((await m.api.job(job.id)).counts).toMatchObject({ done: 0, failed: 0, leased: 4 });
    const mine = honest.of('tasks').flatMap((f) => f.items);
    honest.send({ type: 'results', items: mine.map((t) => ({ a: t.a, ok: true, output: (t.input as number) * 10 })), want: 3 });
    thief.send({ type: 'results', items: [{ a: own!.a, ok: true, output: own!.input as number * 10 }] });
    await waitFor('rest leased', () => honest.of('tasks').flatMap((f) => f.items).length === 5);
    const rest = honest.of('tasks').flatMap((f) => f.items).slice(3);
    honest.send({ type: 'results', items: rest.map((t) => ({ a: t.a, ok: true, output: (t.input as number) * 10 })) });
    await done(job.id);
    expect(await m.api.results(job.id)).toEqual([1, 2, 3, 4, 5, 6].map((x, i) => ({ index: i, status: 'done', output: x * 10 })));
    expect(thief.closed, 'stale reports are ignored, not punished: they also happen innocently after a reconnect').toBeNull();
    honest.close();
    thief.close();
  });
});

describe('[S2] connections are admitted per address and capped in total', () => {
  it('a burst over the per-address budget is closed with 4030, and the budget refills', async () => {
    const tight = await startTestMaster({ connectBurst: 5, connectPerSecond: 5 });
    try {
      const socks = await Promise.all(Array.from({ length: 8 }, () => RawVolunteer.connect(tight.url)));
      await waitFor('refusals', () => socks.filter((s) => s.closed).length >= 3, 3000);
      const refused = socks.filter((s) => s.closed);
      expect(refused).toHaveLength(3);
      for (const s of refused) expect(s.closed).toEqual({ code: CloseCode.RateLimited, reason: CloseReason.RateLimited });
      await new Promise((r) => setTimeout(r, 500));
      const later = await RawVolunteer.join(tight.url);
      expect(later.closed).toBeNull();
      for (const s of [...socks, later]) s.close();
    } finally {
      await tight.close();
    }
  });

  it('open connections per address and in total are capped with 4029', async () => {
    const capped = await startTestMaster({ maxConnectionsPerAddress: 3 });
    const total = await startTestMaster({ maxConnections: 2 });
    try {
      const socks = await Promise.all(Array.from({ length: 4 }, () => RawVolunteer.connect(capped.url)));
      await waitFor('one refusal', () => socks.some((s) => s.closed), 3000);
      expect(socks.filter((s) => s.closed).map((s) => s.closed!.code)).toEqual([CloseCode.TooManyConnections]);
      for (const s of socks) s.close();
      await waitFor('slots freed', async () => {
        const v = await RawVolunteer.join(capped.url);
        v.close();
        return true;
      }, 3000);

      const two = await Promise.all([RawVolunteer.join(total.url), RawVolunteer.join(total.url)]);
      const third = await RawVolunteer.connect(total.url);
      expect(await third.closedWith()).toEqual({ code: CloseCode.TooManyConnections, reason: CloseReason.TooManyConnections });
      for (const s of two) s.close();
    } finally {
      await capped.close();
      await total.close();
    }
  });
});

describe('[S6] a fault handling one frame closes only that connection', () => {
  it('an exception in the scheduler closes the socket with 4011 instead of crashing the master', () => {
    const handlers: Record<string, (...args: unknown[]) => void> = {};
    const closes: Array<[number, string]> = [];
    const socket: SocketLike = {
      readyState: 1,
      bufferedAmount: 0,
      send: () => undefined,
      close: (code, reason) => void closes.push([code, reason]),
      terminate: () => undefined,
      on: ((event: string, fn: (...args: unknown[]) => void) => (handlers[event] = fn)) as SocketLike['on'],
    };
    const errors: unknown[] = [];
    const scheduler = {
      clock: { now: () => 0 },
      join: () => ({ id: 'v1', threads: 1 }),
      maxCredits: () => 4,
      seen: () => undefined,
      leave: () => undefined,
      want: () => {
        throw new TypeError('a bug');
      },
    } as unknown as Scheduler;
    startSession(socket, { scheduler, title: 't', heartbeatMs: 1000, idleHeartbeatMs: 1000, helloTimeoutMs: 60_000, swarm: () => ({ type: 'swarm', volunteers: 1, threads: 1, tasksDone: 0, tasksPerSecond: 0, jobs: [] }), desk: {} as IdentityDesk, network: 'test', log: { warn: () => undefined, debug: () => undefined, error: (o) => void errors.push(o) } });
    handlers.message!(Buffer.from(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, threads: 1 })), false);
    expect(() => handlers.message!(Buffer.from('{"type":"want","n":1}'), false)).not.toThrow();
    expect(closes).toEqual([[CloseCode.Internal, CloseReason.Internal]]);
    expect(errors).toHaveLength(1);
    handlers.close!();
  });
});

describe('[S15] a volunteer that stops reading cannot make the master buffer work for it', () => {
  it('leases to a socket that does not drain stop at about Limits.maxSendBytes unsent; its leases come back when it goes', async () => {
    const big = 'x'.repeat(256 * 1024);
    const total = 100; // 25 MB of inputs: without S15 all of them would go to the stuck socket in one frame
    const job = await m.api.createJob({ code, inputs: Array.from({ length: total }, (_, i) => `${i}:${big}`) });
    const stuck = await RawVolunteer.join(m.url, 64); // may hold 256 leases
    // It stops reading: what the master sends piles up in the kernel, then in the master's send buffer.
    (stuck.ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    stuck.send({ type: 'want', n: total });
    // Several lease ticks (500 ms) in which a drained backlog would be served again.
    await new Promise((r) => setTimeout(r, 2500));
    const held = (await m.api.job(job.id)).counts.leased;
    // About 4 MB absorbed by loopback TCP buffers plus Limits.maxSendBytes unsent plus one frame: ~48 at most.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(64);

    // When it goes, what it held is requeued, and an honest volunteer does the whole job.
    stuck.ws.terminate();
    const honest = await RawVolunteer.join(m.url, 4);
    honest.send({ type: 'want', n: 16 });
    for (let k = 1, answered = 0; answered < total; k++) {
      const t = await honest.next('tasks', k);
      honest.send({ type: 'results', items: t.items.map((x) => ({ a: x.a, ok: true, output: (x.input as string).length })), want: t.items.length });
      answered += t.items.length;
    }
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    expect((await m.api.job(job.id)).counts).toMatchObject({ done: total, failed: 0 });
    honest.close();
  });
});
