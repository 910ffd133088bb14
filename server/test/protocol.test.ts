import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION } from '@barnraise/shared';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, waitFor } from './helpers.ts';

let m: TestMaster;
beforeAll(async () => {
  // Short heartbeats so a silent volunteer lapses within a test (timeout = 4 beats).
  m = await startTestMaster({ heartbeatMs: 100, heartbeatTimeoutMs: 400 });
});
afterAll(async () => m.close());

const code = 'export default (n) => n';

describe('volunteer protocol over a real WebSocket (SPEC.md P, C, H, L5)', () => {
  it('[P2] a hello with another protocol version is closed with VersionMismatch', async () => {
    const v = await RawVolunteer.connect(m.url);
    v.send({ type: 'hello', v: PROTOCOL_VERSION + 1, threads: 1 });
    expect((await v.closedWith()).code).toBe(CloseCode.VersionMismatch);
  });

  it('[P2] a frame before hello is a protocol error', async () => {
    const v = await RawVolunteer.connect(m.url);
    v.send({ type: 'want', n: 1 });
    expect((await v.closedWith()).code).toBe(CloseCode.ProtocolError);
  });

  it('[P1] a malformed frame closes only its own socket', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2] });
    const honest = await RawVolunteer.join(m.url);
    const bad = await RawVolunteer.join(m.url);
    bad.ws.send('{not json');
    expect(await bad.closedWith()).toEqual({ code: CloseCode.ProtocolError, reason: 'protocol error' });
    const bad2 = await RawVolunteer.join(m.url);
    bad2.send({ type: 'results', items: [{ a: 'x', ok: 'yes' }] });
    expect((await bad2.closedWith()).code).toBe(CloseCode.ProtocolError);
    honest.send({ type: 'want', n: 2 });
    const tasks = await honest.next('tasks');
    honest.send({ type: 'results', items: tasks.items.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    expect(honest.closed).toBeNull();
    honest.close();
  });

  it('[P5] heartbeats are not answered one by one; an idle volunteer hears the swarm frame every half idle beat, a busy one every 1.5 beats', async () => {
    const v = await RawVolunteer.join(m.url);
    const idleMs = v.of('welcome')[0]!.idleHeartbeatMs!;
    expect(idleMs, 'the idle beat is longer than the busy one').toBeGreaterThan(100);
    const start = Date.now();
    const beat = async (untilMs: number) => {
      for (let k = 0; Date.now() - start < untilMs && k < 100; k++) {
        v.send({ type: 'hb', t: k });
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Idle for two idle beats: a swarm frame at least every idleMs / 2, so at least 3 (timers on a busy
    // machine slip), but far fewer than one per 150 ms.
    await beat(2 * idleMs);
    const idleFrames = v.of('swarm').length;
    expect(idleFrames).toBeGreaterThanOrEqual(3);
    expect(idleFrames).toBeLessThan((2 * idleMs) / 150);
    expect(v.of('hb')).toEqual([]);
    expect(v.closed, 'the beats kept it joined').toBeNull();
    // Holding a lease: every 1.5 beats (150 ms here).
    const job = await m.api.createJob({ code, inputs: [7] });
    v.send({ type: 'want', n: 1 });
    const [t] = (await v.next('tasks')).items;
    const busyFrom = v.of('swarm').length;
    const busyStart = Date.now();
    for (let k = 0; k < 6; k++) {
      v.send({ type: 'hb', t: k });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(v.of('swarm').length - busyFrom, `swarm frames in ${Date.now() - busyStart} ms holding a lease`).toBeGreaterThanOrEqual(3);
    v.send({ type: 'results', items: [{ a: t!.a, ok: true, output: 7 }] });
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    v.close();
  });

  it('[P5] the swarm totals follow the welcome at once, counting the volunteer just joined', async () => {
    const job = await m.api.createJob({ code, inputs: [1] });
    const v = await RawVolunteer.connect(m.url);
    // Sent together: the master answers hello (welcome) before it leases for want (tasks, next turn), so a
    // swarm frame between them was sent with the welcome, not by the periodic broadcast.
    v.send({ type: 'hello', v: PROTOCOL_VERSION, threads: 3 });
    v.send({ type: 'want', n: 1 });
    const tasks = await v.next('tasks');
    expect(v.received.map((f) => f.type).slice(0, 3)).toEqual(['challenge', 'welcome', 'swarm']);
    expect(v.of('swarm')[0]).toMatchObject({ volunteers: expect.any(Number) as number, threads: expect.any(Number) as number });
    expect(v.of('swarm')[0]!.threads).toBeGreaterThanOrEqual(3);
    v.send({ type: 'results', items: tasks.items.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    v.close();
  });

  it('[C1] a job\'s code reaches a connection once however many task frames follow', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2, 3, 4, 5, 6] });
    const v = await RawVolunteer.join(m.url, 1);
    v.send({ type: 'want', n: 1 });
    for (let k = 1; k <= 6; k++) {
      const t = await v.next('tasks', k);
      v.send({ type: 'results', items: t.items.map((x) => ({ a: x.a, ok: true, output: x.input })), want: 1 });
    }
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    expect(v.of('job').filter((j) => j.id === job.id)).toHaveLength(1);
    expect(v.received.findIndex((f) => f.type === 'job')).toBeLessThan(v.received.findIndex((f) => f.type === 'tasks'));
    v.close();
  });

  it('[D2] ack frames go only to a volunteer whose hello asked for them, after the commit, naming its own attempts', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2, 3, 4] });
    const asking = await RawVolunteer.join(m.url, 1, '', { acks: true });
    const quiet = await RawVolunteer.join(m.url, 1);
    asking.send({ type: 'want', n: 2 });
    quiet.send({ type: 'want', n: 2 });
    await waitFor('4 leases out', () => [...asking.of('tasks'), ...quiet.of('tasks')].flatMap((f) => f.items).length === 4);
    const mine = asking.of('tasks').flatMap((f) => f.items);
    const theirs = quiet.of('tasks').flatMap((f) => f.items);
    expect(mine.length).toBeGreaterThan(0);
    expect(theirs.length).toBeGreaterThan(0);
    asking.send({ type: 'results', items: mine.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    quiet.send({ type: 'results', items: theirs.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed');
    await waitFor('acks of all its results', () => asking.of('ack').flatMap((f) => f.attempts).length === mine.length);
    expect(asking.of('ack').flatMap((f) => f.attempts).sort()).toEqual(mine.map((t) => t.a).sort());
    // The quiet one's results landed (the job completed). Two swarm frames after that (the first may have
    // been on its way already): an ack, sent as the commit landed, would have come before the second.
    const framesBefore = quiet.received.length;
    await waitFor('two swarm frames after the commit', () => quiet.received.slice(framesBefore).filter((f) => f.type === 'swarm').length >= 2, 5000);
    expect(quiet.of('ack')).toHaveLength(0);
    asking.close();
    quiet.close();
  });

  it('[L5] a closed socket requeues its leases at once, and [H2] a silent one after its heartbeat lapses', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2, 3, 4] });
    const closing = await RawVolunteer.join(m.url, 1);
    closing.send({ type: 'want', n: 2 });
    await closing.next('tasks');
    expect((await m.api.job(job.id)).counts.leased).toBe(2);
    closing.close();
    await waitFor('leases requeued after close', async () => (await m.api.job(job.id)).counts.leased === 0, 1000);

    const silent = await RawVolunteer.join(m.url, 1);
    silent.send({ type: 'want', n: 2 });
    await silent.next('tasks');
    expect((await m.api.job(job.id)).counts.leased).toBe(2);
    // It keeps its socket open (and would answer WS pings) but sends nothing: the heartbeat lapses.
    expect((await silent.closedWith(3000)).code).toBe(CloseCode.HeartbeatLapsed);
    expect((await m.api.job(job.id)).counts).toMatchObject({ leased: 0, queued: 4, failed: 0 });
    await m.api.cancel(job.id);
  });
});
