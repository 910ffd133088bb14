import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Check } from '@sinclair/typebox/value';
import { CloseCode, Limits, MasterMessageSchema, PROTOCOL_VERSION, VolunteerCore, type ConnectionState, type MasterMessage, type VolunteerSink } from '@barnraise/shared';
import { WorkerPool } from '../sandbox/pool.ts';
import { FakeHost, FakeSocket } from '../testing/doubles.ts';

const HB = 1000;
const welcome: MasterMessage = { type: 'welcome', v: PROTOCOL_VERSION, volunteerId: 'v_1', heartbeatMs: HB, maxCredits: 16, title: 't' };
const job: MasterMessage = { type: 'job', id: 'j1', name: 'squares', code: 'export default (n) => n * n', timeoutMs: 5000 };
/** A welcome whose idle beat (8 HB) is far longer than the busy one (P5). */
const slowIdleWelcome = { ...welcome, idleHeartbeatMs: HB * 8 } as MasterMessage;
const tasks = (...ids: string[]): MasterMessage => ({ type: 'tasks', items: ids.map((a, i) => ({ a, job: 'j1', i, input: i })) });

/** `prefetch` null: the adaptive prefetch, by task length (P3). */
function setup(prefetch: number | null = 2) {
  const host = new FakeHost();
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const deferred: Array<() => void> = [];
  /** The wait each deferred flush was allowed (results of short attempts gather into one frame). */
  const waits: number[] = [];
  const sink: VolunteerSink = {
    connectionChanged: (s) => states.push(s),
    attemptStarted: () => {},
    attemptEnded: () => {},
    swarmReported: () => {},
    workersChanged: () => {},
  };
  const client = new VolunteerCore({
    isMasterMessage: (v): v is MasterMessage => Check(MasterMessageSchema, v),
    agent: 'browser',
    ...(prefetch !== null ? { prefetch } : {}),
    url: 'ws://master/ws/volunteer',
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    createPool: (events) => new WorkerPool(host, events),
    sink,
    defer: (fn, ms) => {
      deferred.push(fn);
      waits.push(ms);
    },
    random: () => 0.5,
  });
  /** Run the deferred flushes (results batching). */
  const settle = () => {
    while (deferred.length > 0) deferred.shift()!();
  };
  const socket = () => sockets.at(-1)!;
  /** Start with `threads`, open the socket and welcome (`greeting`): the usual first steps. */
  const join = (threads = 2, greeting: MasterMessage = welcome) => {
    client.start(threads);
    socket().open();
    socket().deliver(greeting);
    socket().deliver(job);
    settle();
  };
  return { host, client, sockets, socket, states, settle, join, waits };
}

describe('VolunteerCore (with the page\'s worker pool)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('says hello, then asks for threads x 2 credits after welcome', () => {
    const { client, socket, settle, states } = setup();
    client.start(3);
    socket().open();
    expect(socket().sent[0]).toMatchObject({ type: 'hello', v: PROTOCOL_VERSION, threads: 3, agent: 'browser', hidden: false });
    socket().deliver(welcome);
    settle();
    expect(socket().frames('want')).toEqual([{ type: 'want', n: 6 }]);
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('never asks for more than welcome.maxCredits', () => {
    const { client, socket, settle } = setup();
    client.start(20);
    socket().open();
    socket().deliver({ ...welcome, maxCredits: 8 });
    settle();
    expect(socket().frames('want')).toEqual([{ type: 'want', n: 8 }]);
  });

  it('runs leases on the workers and returns one credit per result in the results frame', () => {
    const { host, join, socket, settle } = setup();
    join(2);
    socket().deliver(tasks('a1', 'a2', 'a3', 'a4'));
    settle();
    expect(host.alive.map((w) => w.current?.a)).toEqual(['a1', 'a2']);
    host.alive[0]!.finish({ ok: true, output: 0, ms: 3 });
    host.alive[1]!.finish({ ok: false, error: 'boom', ms: 4 });
    settle();
    expect(socket().frames('results')).toEqual([
      {
        type: 'results',
        items: [
          { a: 'a1', ok: true, output: 0, ms: 3 },
          { a: 'a2', ok: false, error: 'boom', ms: 4 },
        ],
        want: 2,
      },
    ]);
  });

  it('[P3] outcomes of short attempts may wait a little for others, to share a frame; long ones and credits alone go at once', () => {
    const wait = (ms: number, prefetch?: number) => {
      const { host, join, socket, settle, waits } = setup(prefetch ?? null);
      join(1);
      socket().deliver(tasks('a1', 'a2'));
      settle();
      waits.length = 0;
      host.alive[0]!.finish({ ok: true, output: 0, ms });
      const asked = waits.at(-1);
      settle();
      expect(socket().frames('results').flatMap((f) => f.items.map((i) => i.a))).toEqual(['a1']);
      return asked;
    };
    expect(wait(30), 'a 30 ms attempt').toBe(0);
    expect(wait(1), 'a 1 ms attempt: a fifth of the 50 ms its leases cover').toBe(10);
    expect(wait(0.1), '0.1 ms: a fifth of 256 leases of it').toBe(5);
    expect(wait(0.01), 'trivial: not worth a timer').toBe(0);
    expect(wait(1, 2), 'a prefetch fixed at 2 leases a thread covers 2 ms: too little to wait on').toBe(0);
    const { join, waits } = setup();
    join(2);
    expect(waits.every((w) => w === 0), 'credits alone').toBe(true);
  });

  it('[P3] a results frame fits the master\'s frame limit: big outputs that end together go in several frames, none lost', () => {
    const { host, join, socket, settle } = setup(8);
    join(1);
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    socket().deliver(tasks(...ids));
    settle();
    // Six outputs of a million characters (é: 2 bytes each in UTF-8), all ended before the frame goes.
    const big = (k: number) => `${k}`.padEnd(1_000_000, k % 2 === 0 ? 'x' : 'é');
    for (let k = 0; k < ids.length; k++) host.alive[0]!.finish({ ok: true, output: big(k), ms: 30 });
    settle();
    const frames = socket().frames('results');
    expect(frames.flatMap((f) => f.items.map((i) => i.a)), 'every outcome, once, in order').toEqual(ids);
    expect(frames.length).toBeGreaterThan(1);
    const sizes = socket().sent.map((m, k) => (m.type === 'results' ? socket().sentBytes[k]! : 0)).filter((b) => b > 0);
    for (const b of sizes) expect(b).toBeLessThanOrEqual(Limits.maxFrameBytes);
    expect(frames.flatMap((f) => f.items).every((i) => i.ok && typeof i.output === 'string' && i.output.length === 1_000_000)).toBe(true);
  });

  it('[Stop] takes its credits back, releases every lease it holds and closes', () => {
    const { host, join, socket, client, states } = setup();
    join(1);
    socket().deliver(tasks('a1', 'a2'));
    const s = socket();
    client.stop();
    expect(s.frames('pause')).toHaveLength(1);
    expect(s.frames('release').flatMap((r) => r.attempts).sort()).toEqual(['a1', 'a2']);
    expect(s.closed).toEqual({ code: 1000, reason: 'stopped' });
    expect(host.alive).toHaveLength(0);
    expect(states.at(-1)).toBe('idle');
  });

  it('when threads shrink, pauses credits, releases waiting leases over capacity and asks for the difference', () => {
    const { join, socket, client, settle } = setup();
    join(3); // capacity 6
    socket().deliver(tasks('a1', 'a2', 'a3', 'a4', 'a5', 'a6'));
    settle();
    const before = socket().sent.length;
    client.setThreads(1); // capacity 2, three running (two retire when done), three waiting
    settle();
    // No credits were left to take back (all six were used), so no pause: only the waiting leases go back.
    expect(socket().sent.slice(before)).toEqual([{ type: 'release', attempts: ['a4', 'a5', 'a6'] }]);
    client.setThreads(2); // capacity 4, three still running: one credit short
    settle();
    expect(socket().sent.at(-1)).toEqual({ type: 'want', n: 1 });
  });

  it('takes unused credits back with pause when capacity drops, and releases leases that crossed it on the wire', () => {
    const { join, socket, settle, client } = setup();
    join(2); // capacity 4, all 4 granted, none used
    client.setThreads(1); // capacity 2
    settle();
    expect(socket().sent.slice(-2)).toEqual([{ type: 'pause' }, { type: 'want', n: 2 }]);
    // The master had already sent three leases when the pause reached it.
    socket().deliver(tasks('a1', 'a2', 'a3'));
    settle();
    expect(socket().frames('release')).toEqual([{ type: 'release', attempts: ['a3'] }]);
  });

  it('[P3] a slower measured length keeps the waiting leases its threads start within a second; past that, they go back', () => {
    const { host, socket, settle, join } = setup(null); // the adaptive prefetch
    join(1); // task length unknown: 2 leases
    socket().deliver(tasks('a1', 'a2'));
    settle();
    const worker = host.alive[0]!;
    worker.finish({ ok: true, output: 1, ms: 1 }); // 1 ms tasks: 50 a thread, capped by maxCredits 16
    settle();
    const wanted = socket().frames('results').reduce((n, f) => n + (f.want ?? 0), 0) + socket().frames('want').reduce((n, f) => n + f.n, 0);
    expect(wanted, 'asked up to maxCredits').toBe(2 + 15);
    socket().deliver(tasks(...Array.from({ length: 15 }, (_, k) => `b${k}`)));
    settle();
    /** Leases handed to the worker and not reported: the pool cannot hand those back. */
    const inWorker = (finished: number) => worker.received.length - finished;
    // One slow attempt: the average goes from 1 to 8.8 ms, the prefetch from 50 to 6 a thread. The 15 leases
    // held are 132 ms of work: all kept, where handing the waiting ones back only had them requeued and
    // leased again.
    worker.finish({ ok: true, output: 2, ms: 40 });
    settle();
    expect(15 - inWorker(2), 'leases wait in the pool, past the new capacity of 6').toBeGreaterThan(6 - inWorker(2));
    expect(socket().frames('release'), 'nothing handed back').toEqual([]);
    expect(socket().sent.at(-1), 'and nothing more asked for: over capacity').not.toMatchObject({ type: 'want' });
    // Tasks that now take seconds: what the thread would not start within a second goes back, down to the
    // capacity of 2 a thread.
    worker.finish({ ok: true, output: 3, ms: 5000 });
    settle();
    const released = socket().frames('release').flatMap((r) => r.attempts);
    expect(released.length).toBeGreaterThan(0);
    expect(released.length, 'the waiting leases past capacity (2) went back').toBe(14 - Math.max(2, inWorker(3)));
    expect(new Set(released).size).toBe(released.length);
  });

  it('growing past the hello\'s thread count: drains, then says hello again with the new thread count', () => {
    const { host, client, sockets, socket, settle } = setup();
    client.start(1);
    socket().open();
    socket().deliver({ ...welcome, maxCredits: 4 });
    socket().deliver(job);
    socket().deliver(tasks('a1', 'a2'));
    settle();
    client.setThreads(4); // wants 8 credits; this connection gets at most 4
    settle();
    const first = sockets[0]!;
    // The new workers took the waiting lease; no more credits on this connection.
    expect(first.sent.at(-1)).toEqual({ type: 'pause' });
    expect(first.frames('release')).toEqual([]);
    host.alive.find((w) => w.current?.a === 'a1')!.finish({ ok: true, output: 1, ms: 1 });
    settle();
    expect(first.closed).toBeNull();
    host.alive.find((w) => w.current?.a === 'a2')!.finish({ ok: true, output: 2, ms: 1 });
    // Both results went out on the old connection, asking no credit there, before it closed.
    expect(first.frames('results').flatMap((r) => r.items.map((i) => i.a))).toEqual(['a1', 'a2']);
    expect(first.frames('results').some((r) => r.want)).toBe(false);
    expect(first.closed).toMatchObject({ code: 1000 });
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent[0]).toMatchObject({ type: 'hello', threads: 4 });
    sockets[1]!.deliver({ ...welcome, maxCredits: 16 });
    settle();
    expect(sockets[1]!.frames('want')).toEqual([{ type: 'want', n: 8 }]);
  });

  it('shrinking keeps the connection', () => {
    const { client, sockets, join, settle } = setup();
    join(2); // maxCredits 16
    client.setThreads(1);
    settle();
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.closed).toBeNull();
  });

  it('an abort from the master stops the attempt and asks for its credit again', () => {
    const { host, join, socket, settle } = setup();
    join(1);
    socket().deliver(tasks('a1', 'a2'));
    socket().deliver({ type: 'abort', attempts: ['a1'], reason: 'deadline passed' });
    settle();
    expect(host.spawned[0]!.terminated).toBe(true);
    expect(socket().sent.at(-1)).toEqual({ type: 'want', n: 1 });
  });

  it('releases a lease for a job whose code it never got', () => {
    const { join, socket } = setup();
    join(1);
    socket().deliver({ type: 'tasks', items: [{ a: 'x1', job: 'unknown', i: 0, input: 1 }] });
    expect(socket().frames('release')).toEqual([{ type: 'release', attempts: ['x1'] }]);
  });

  it('beats every heartbeatMs and treats a master silent for 4 beats as gone: reconnects with backoff', () => {
    const { join, socket, sockets, states, host } = setup();
    join(1);
    socket().deliver(tasks('a1'));
    vi.advanceTimersByTime(HB);
    expect(socket().frames('hb')).toHaveLength(1);
    // Checks run twice a beat: the master, silent since the tasks frame, is given up at the first check
    // past 4 beats of silence (4.5 HB).
    vi.advanceTimersByTime(HB * 3);
    expect(sockets[0]!.closed).toBeNull();
    vi.advanceTimersByTime(HB / 2);
    expect(sockets[0]!.closed).not.toBeNull();
    expect(states.at(-1)).toBe('reconnecting');
    // The master requeued what this tab held: the running attempt was stopped.
    expect(host.spawned[0]!.terminated).toBe(true);
    // Backoff for the first failure: random 0.5 x 250 ms.
    vi.advanceTimersByTime(124);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    sockets[1]!.deliver(welcome);
    expect(states.at(-1)).toBe('connected');
  });

  it('[P5] holding no lease it beats at the idle pace and waits 4 idle beats for the master; holding leases, at the busy pace', () => {
    const { join, socket, sockets, settle, host } = setup();
    join(1, slowIdleWelcome);
    vi.advanceTimersByTime(HB * 7);
    expect(socket().frames('hb'), 'idle: no beat before the idle period').toHaveLength(0);
    vi.advanceTimersByTime(HB);
    expect(socket().frames('hb')).toHaveLength(1);
    socket().deliver({ type: 'swarm', volunteers: 1, threads: 1, tasksDone: 0, tasksPerSecond: 0, jobs: [] });
    expect(socket().frames('hb'), 'a frame from the master does not make an idle beat due').toHaveLength(1);
    // Work arrives: the busy beat is due at once (the last beat was a while ago), then every HB.
    vi.advanceTimersByTime(HB * 2);
    socket().deliver(tasks('a1'));
    settle();
    expect(socket().frames('hb')).toHaveLength(2);
    vi.advanceTimersByTime(HB);
    expect(socket().frames('hb')).toHaveLength(3);
    host.alive[0]!.finish({ ok: true, output: 0, ms: 1 });
    settle();
    // Idle again, and the master quiet: given up only after 4 idle beats (32 HB) of silence.
    vi.advanceTimersByTime(HB * 30);
    expect(sockets[0]!.closed).toBeNull();
    vi.advanceTimersByTime(HB * 3);
    expect(sockets[0]!.closed).not.toBeNull();
  });

  it('[P5] holding no lease it wakes for its beat twice an idle beat, not twice a busy one; leases bring the busy pace back at once', () => {
    const { join, socket, settle, host } = setup();
    join(1, slowIdleWelcome);
    // The core's only timer while idle is its beat check: four of them must span four half idle beats.
    const t0 = Date.now();
    for (let k = 0; k < 4; k++) vi.advanceTimersToNextTimer();
    expect(Date.now() - t0, 'idle: a check every 4 HB, not every HB / 2').toBe(HB * 16);
    expect(socket().frames('hb'), 'and a beat every 8 HB').toHaveLength(2);
    // Work arrives mid-way through an idle check's wait: checked at the busy pace from then on.
    vi.advanceTimersByTime(HB);
    socket().deliver(tasks('a1'));
    settle();
    const beats = socket().frames('hb').length;
    vi.advanceTimersByTime(HB * 3);
    expect(socket().frames('hb').length - beats, 'a long attempt: one beat a busy period').toBe(3);
    host.alive[0]!.finish({ ok: true, output: 0, ms: 1 });
    settle();
  });

  it('[P5] a volunteer whose results go out within each beat period sends no hb; silent on a long attempt, it beats', () => {
    const { join, socket, settle, host } = setup();
    // An idle beat far longer than the busy one, so the pace seen below is the busy one.
    join(1, slowIdleWelcome);
    for (let k = 1; k <= 6; k++) {
      socket().deliver(tasks(`a${k}`));
      settle();
      vi.advanceTimersByTime(HB / 2);
      host.alive[0]!.finish({ ok: true, output: k, ms: HB / 2 });
      settle();
    }
    expect(socket().frames('results').flatMap((f) => f.items)).toHaveLength(6);
    expect(socket().frames('hb'), 'three beat periods, a results frame in each: no beat needed').toHaveLength(0);
    // A long attempt: nothing else to send, so the beat fills the silence at the busy pace, and no silence
    // lasts 1.5 beats (the checks run twice a beat).
    socket().deliver(tasks('a7'));
    settle();
    const sent = socket().sent.length;
    vi.advanceTimersByTime(HB * 1.5);
    expect(socket().frames('hb')).toHaveLength(1);
    expect(socket().sent.length).toBe(sent + 1);
    vi.advanceTimersByTime(HB * 1.5);
    expect(socket().frames('hb'), 'one a beat').toHaveLength(3);
    // A result just after a check, then another long attempt: its beat is due 0.95 HB later, and the check
    // half a beat on catches it, so the silence is 1.4 HB, not 1.9.
    vi.advanceTimersByTime(HB / 10);
    host.alive[0]!.finish({ ok: true, output: 7, ms: HB * 3 });
    settle();
    socket().deliver(tasks('a8'));
    settle();
    vi.advanceTimersByTime(HB * 1.3);
    expect(socket().frames('hb')).toHaveLength(3);
    vi.advanceTimersByTime(HB / 10);
    expect(socket().frames('hb')).toHaveLength(4);
  });

  it('backs off exponentially while the master stays away', () => {
    const { client, sockets } = setup();
    client.start(1);
    const delays: number[] = [];
    for (let k = 0; k < 4; k++) {
      const n = sockets.length;
      sockets.at(-1)!.drop(1006);
      let waited = 0;
      while (sockets.length === n) {
        vi.advanceTimersByTime(5);
        waited += 5;
      }
      delays.push(waited);
    }
    // 0.5 x 250 x 2^k, rounded up to the 5 ms step.
    expect(delays).toEqual([125, 250, 500, 1000]);
  });

  it('gives up for good when the master refuses the protocol version', () => {
    const { client, socket, sockets, states } = setup();
    client.start(1);
    socket().drop(CloseCode.VersionMismatch, 'protocol version not supported');
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toBe('failed');
  });

  it('reports visibility and, with "pause while hidden", hands back waiting leases until visible again', () => {
    const { join, socket, client, settle } = setup();
    client.setPauseWhenHidden(true);
    join(1);
    socket().deliver(tasks('a1', 'a2'));
    settle();
    client.setHidden(true);
    settle();
    expect(socket().sent.slice(-3)).toEqual([
      { type: 'visibility', hidden: true },
      { type: 'pause' },
      { type: 'release', attempts: ['a2'] },
    ]);
    client.setHidden(false);
    settle();
    expect(socket().sent.slice(-2)).toEqual([
      { type: 'visibility', hidden: false },
      { type: 'want', n: 1 },
    ]);
  });

  it('ignores frames that do not match the protocol', () => {
    const { join, socket, host } = setup();
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    join(1);
    socket().deliver({ type: 'tasks', items: [{ a: 'a1', job: 'j1', i: -1, input: 1 }] });
    socket().onmessage?.({ data: 'not json' } as MessageEvent);
    expect(host.alive[0]!.received).toEqual([]);
  });

  it('[V1] waits for the challenge, then proves its identity by signing the nonce; without one it joins anonymously', async () => {
    const signed: string[] = [];
    const identity = { key: 'PUBLIC-KEY', sign: async (nonce: string) => (signed.push(nonce), `sig(${nonce})`) };
    const host = new FakeHost();
    const sockets: FakeSocket[] = [];
    const core = new VolunteerCore({
      url: 'ws://master/ws/volunteer',
      connect: (url) => (sockets.push(new FakeSocket(url)), sockets.at(-1)!),
      createPool: (events) => new WorkerPool(host, events),
      sink: { connectionChanged: () => {}, attemptStarted: () => {}, attemptEnded: () => {}, swarmReported: () => {}, workersChanged: () => {} },
      isMasterMessage: (v): v is MasterMessage => Check(MasterMessageSchema, v),
      agent: 'browser',
      identity,
    });
    core.start(1);
    sockets[0]!.open(false);
    expect(sockets[0]!.sent).toEqual([]); // nothing before the master's challenge
    sockets[0]!.deliver({ type: 'challenge', nonce: 'nonce-0123456789abcdef' });
    await vi.waitFor(() => expect(sockets[0]!.sent).toHaveLength(1));
    expect(signed).toEqual(['nonce-0123456789abcdef']);
    expect(sockets[0]!.sent[0]).toMatchObject({ type: 'hello', identity: { key: 'PUBLIC-KEY', sig: 'sig(nonce-0123456789abcdef)' } });

    const { client, socket } = setup();
    client.start(1);
    socket().open();
    expect(socket().sent[0]).toMatchObject({ type: 'hello' });
    expect(socket().sent[0]).not.toHaveProperty('identity');
  });

  it('[V5] gives up for good when its identity is banned; [V2] waits longer when its network is out of new identities', () => {
    const { join, socket, sockets, states } = setup();
    join(1);
    socket().drop(CloseCode.TooManyIdentities, 'too many new identities from this network; retry later');
    expect(states.at(-1)).toBe('reconnecting');
    vi.advanceTimersByTime(10_000);
    // Backoff for 4031 is capped at a minute, not 10 s: with random() = 0.5 the first retry is 125 ms anyway.
    expect(sockets.length).toBe(2);
    socket().open();
    socket().deliver(welcome);
    socket().drop(CloseCode.Banned, 'identity banned for wrong results');
    expect(states.at(-1)).toBe('failed');
    vi.advanceTimersByTime(120_000);
    expect(sockets.length).toBe(2);
  });
});

