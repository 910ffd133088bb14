import { describe, expect, it } from 'vitest';
import type { AssetRef } from '../schemas/assets.ts';
import type { MasterMessage, VolunteerMessage } from '../protocol.ts';
import type { AttemptOutcome, PoolTask } from '../runner.ts';
import { AssetGate } from './assets.ts';
import { VolunteerCore, type PoolEvents, type PoolLike, type SocketLike } from './core.ts';

/** A pool that records what reaches it and runs nothing by itself. */
class RecordingPool implements PoolLike {
  readonly ran: PoolTask[] = [];
  queue: PoolTask[] = [];
  constructor(private readonly events: PoolEvents) {}
  get running() {
    return 0;
  }
  get queued() {
    return this.queue.length;
  }
  get workers() {
    return 1;
  }
  /** A worker may have several attempts sent to it: busy workers are not attempts out. */
  busyWorkers = 0;
  resize(): void {}
  run(task: PoolTask): void {
    this.ran.push(task);
    this.queue.push(task);
  }
  abort(a: string): boolean {
    const before = this.queue.length;
    this.queue = this.queue.filter((t) => t.a !== a);
    return this.queue.length < before;
  }
  takeQueued(n = this.queue.length): PoolTask[] {
    return this.queue.splice(Math.max(0, this.queue.length - n));
  }
  reset(): PoolTask[] {
    return this.queue.splice(0);
  }
  finish(a: string, outcome: AttemptOutcome = { ok: true, output: 1, ms: 1 }): void {
    const task = this.queue.find((t) => t.a === a)!;
    this.queue = this.queue.filter((t) => t !== task);
    this.events.done(task, outcome);
  }
}

class Socket implements SocketLike {
  readyState = 1;
  readonly sent: VolunteerMessage[] = [];
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as VolunteerMessage);
  }
  close(): void {
    this.readyState = 3;
  }
  deliver(msg: MasterMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  of<T extends VolunteerMessage['type']>(type: T): Array<Extract<VolunteerMessage, { type: T }>> {
    return this.sent.filter((m): m is Extract<VolunteerMessage, { type: T }> => m.type === type);
  }
}

const wasm: AssetRef = { name: 'add.wasm', sha256: 'a'.repeat(64), size: 41 };
const data: AssetRef = { name: 'data.bin', sha256: 'b'.repeat(64), size: 1000 };
const jobFrame = (id: string, assets: AssetRef[]): MasterMessage => ({ type: 'job', id, name: id, code: 'export default (n) => n', timeoutMs: 1000, assets });
const tasks = (job: string, ...ids: string[]): MasterMessage => ({ type: 'tasks', items: ids.map((a, i) => ({ a, job, i, input: i })) });

function setup() {
  const fetches: Array<{ asset: AssetRef; resolve(source: unknown): void; reject(err: Error): void }> = [];
  const outcomes: AttemptOutcome[] = [];
  const sockets: Socket[] = [];
  let pool!: RecordingPool;
  let gate!: AssetGate;
  const core = new VolunteerCore({
    url: 'ws://master/ws/volunteer',
    connect: () => {
      const s = new Socket();
      sockets.push(s);
      return s;
    },
    createPool: (events) => (gate = new AssetGate((pool = new RecordingPool(events)), (asset) => new Promise((resolve, reject) => fetches.push({ asset, resolve, reject })), events)),
    sink: { connectionChanged: () => {}, attemptStarted: () => {}, attemptEnded: (o) => outcomes.push(o), swarmReported: () => {}, workersChanged: () => {} },
    isMasterMessage: (v): v is MasterMessage => typeof v === 'object' && v !== null && 'type' in v,
    agent: 'node',
    prefetch: 2,
    defer: (fn) => fn(),
    random: () => 0.5,
  });
  const join = () => {
    core.start(1);
    const s = sockets.at(-1)!;
    s.deliver({ type: 'welcome', v: 2, volunteerId: 'v1', heartbeatMs: 60_000, maxCredits: 8, title: 't' });
    return s;
  };
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return { core, fetches, outcomes, sockets, join, flush, pool: () => pool, gate: () => gate };
}

describe('[A5] the asset gate', () => {
  it('tells the busy workers of the pool it wraps, not the attempts out (the page shows "Workers busy")', () => {
    const { join, pool, gate } = setup();
    join();
    pool().busyWorkers = 1;
    expect(gate().busyWorkers).toBe(1);
    pool().busyWorkers = 0;
    expect(gate().busyWorkers).toBe(0);
  });

  it('holds a job\'s leases until its assets are there, fetching each once, and counts them as held', async () => {
    const { join, fetches, pool, flush, gate } = setup();
    const s = join();
    expect(s.of('want')).toEqual([{ type: 'want', n: 2 }]);
    s.deliver(jobFrame('j1', [wasm, data]));
    s.deliver(tasks('j1', 'a1', 'a2'));
    expect(fetches.map((f) => f.asset.name)).toEqual(['add.wasm', 'data.bin']);
    expect(pool().ran).toEqual([]);
    expect(gate().queued).toBe(2);
    // Held leases use the capacity: no more credits asked for while they wait.
    expect(s.of('want')).toHaveLength(1);
    fetches[0]!.resolve('wasm-blob');
    await flush();
    expect(pool().ran, 'still missing the data file').toEqual([]);
    fetches[1]!.resolve('data-blob');
    await flush();
    expect(pool().ran.map((t) => t.a)).toEqual(['a1', 'a2']);
    expect(pool().ran[0]!.assets).toEqual([
      { ...wasm, source: 'wasm-blob' },
      { ...data, source: 'data-blob' },
    ]);
  });

  it('a second job naming the same assets, and a new connection, fetch nothing again', async () => {
    const { join, fetches, pool, flush, core, sockets } = setup();
    const s = join();
    s.deliver(jobFrame('j1', [wasm]));
    s.deliver(tasks('j1', 'a1'));
    fetches[0]!.resolve('blob');
    await flush();
    s.deliver(jobFrame('j2', [{ ...wasm, name: 'other-name.wasm' }]));
    s.deliver(tasks('j2', 'b1'));
    expect(pool().ran.map((t) => t.a)).toEqual(['a1', 'b1']);
    expect(pool().ran[1]!.assets).toEqual([{ ...wasm, name: 'other-name.wasm', source: 'blob' }]);
    // The master goes away and comes back: a new connection, the same page.
    s.onclose?.({ code: 1006, reason: '' });
    await new Promise((r) => setTimeout(r, 400));
    expect(sockets).toHaveLength(2);
    const again = sockets[1]!;
    again.deliver({ type: 'welcome', v: 2, volunteerId: 'v2', heartbeatMs: 60_000, maxCredits: 8, title: 't' });
    again.deliver(jobFrame('j1', [wasm]));
    again.deliver(tasks('j1', 'c1'));
    expect(fetches).toHaveLength(1);
    expect(pool().ran.map((t) => t.a)).toEqual(['a1', 'b1', 'c1']);
    core.stop();
  });

  it('an asset that cannot be fetched fails the leases waiting on it with an error naming it; the next lease tries again', async () => {
    const { join, fetches, pool, flush, outcomes } = setup();
    const s = join();
    s.deliver(jobFrame('j1', [wasm]));
    s.deliver(tasks('j1', 'a1', 'a2'));
    fetches[0]!.reject(new Error('GET /api/assets/aaaa answered 404'));
    await flush();
    expect(outcomes).toEqual([
      { ok: false, error: `asset "add.wasm" (aaaaaaaaaaaa…) could not be loaded: GET /api/assets/aaaa answered 404`, ms: 0 },
      { ok: false, error: `asset "add.wasm" (aaaaaaaaaaaa…) could not be loaded: GET /api/assets/aaaa answered 404`, ms: 0 },
    ]);
    expect(s.of('results').flatMap((r) => r.items.map((i) => i.a))).toEqual(['a1', 'a2']);
    s.deliver(tasks('j1', 'a3'));
    expect(fetches).toHaveLength(2);
    fetches[1]!.resolve('blob');
    await flush();
    expect(pool().ran.map((t) => t.a)).toEqual(['a3']);
  });

  it('a waiting lease can be aborted, and Stop hands waiting leases back to the master', async () => {
    const { join, fetches, pool, flush, core, gate } = setup();
    const s = join();
    s.deliver(jobFrame('j1', [wasm]));
    s.deliver(tasks('j1', 'a1', 'a2'));
    s.deliver({ type: 'abort', attempts: ['a1'], reason: 'cancelled' });
    expect(gate().queued).toBe(1);
    core.stop();
    expect(s.of('release').flatMap((r) => r.attempts)).toEqual(['a2']);
    fetches[0]!.resolve('blob');
    await flush();
    expect(pool().ran).toEqual([]);
  });
});
