/**
 * [S7][S13] Protocol fuzz: while a job runs on honest headless volunteers, raw WebSocket clients throw
 * random and malformed frames at a master process: bad JSON, binary, wrong types, huge numbers, unknown
 * ids, frames out of order, and results for other volunteers' attempts (ids guessed from their own).
 * The master stays up, every violator is closed with a defined code (never 4011, a bug), the honest
 * volunteers keep their one connection, and the job completes with correct results, each index once.
 * Seeded: FUZZ_SEED=<n> replays a run.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, PROTOCOL_VERSION, VOLUNTEER_PATH, type MasterMessage } from '@barnraise/shared';
import { HeadlessVolunteer } from '../src/worker/volunteer.ts';
import { api, expectExactlyOnce, prng, startMaster, tempDir, waitFor, type MasterProc } from './helpers.ts';

const token = 'fuzz-test-token';
const dataDir = tempDir();
let master: MasterProc;
const honest: HeadlessVolunteer[] = [];

beforeAll(async () => {
  // Fuzzers reconnect hundreds of times from one address: lift the per-address connection budget.
  master = await startMaster({ dataDir, token, env: { BARNRAISE_CONNECT_PER_SECOND: '2000', BARNRAISE_CONNECT_BURST: '2000' } });
});
afterAll(async () => {
  await Promise.all(honest.map((v) => v.abandon()));
  await master?.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const code = `export default async (n) => { await new Promise((r) => setTimeout(r, 8)); return [n, String(n * 7)]; }`;
const expected = (n: number) => [n, String(n * 7)];
/** Close codes a violator may get: the defined ones, and WebSocket's own 1009 for an oversized frame. */
const DEFINED = new Set<number>([CloseCode.ProtocolError, CloseCode.VersionMismatch, CloseCode.HelloTimeout, 1009]);

type Rand = () => number;

function garbage(rand: Rand, known: { ids: string[] }): string | Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const id = () => (known.ids.length > 0 && rand() < 0.5 ? pick(known.ids) : pick(['', 'x', 'a'.repeat(65), '0.0', `${rand()}`, '__proto__']));
  const huge = () => pick([1e308, -1e308, 2 ** 53 + 1, -0, 1.5, 2 ** 31, -1]);
  const frames: Array<() => string | Buffer> = [
    () => pick(['{', 'nul', '', '[]', '"hello"', 'null', '1e400', '{"type":', '\u0000', '{"type":"hello"}}']),
    () => Buffer.from(Array.from({ length: 32 }, () => Math.floor(rand() * 256))),
    () => JSON.stringify({ type: pick(['want', 'results', 'hello', 'nope', 42, null, '']), n: pick(['5', null, [], {}]) }),
    () => JSON.stringify({ type: 'want', n: huge() }),
    () => JSON.stringify({ type: 'hello', v: pick([PROTOCOL_VERSION, PROTOCOL_VERSION + 1, huge()]), threads: pick([1, 0, 1e9, huge()]) }),
    () => JSON.stringify({ type: 'results', items: [{ a: id(), ok: true, output: 'forged' }] }),
    () => JSON.stringify({ type: 'results', items: [{ a: id(), ok: false, error: 'forged' }], want: pick([0, 1, huge()]) }),
    () => JSON.stringify({ type: 'results', items: pick([[], 'x', [{}], [{ a: id() }], Array.from({ length: 300 }, () => ({ a: id(), ok: true, output: 1 }))]) }),
    () => JSON.stringify({ type: 'release', attempts: [id(), id()] }),
    () => JSON.stringify({ type: 'progress', a: id(), p: pick([0.5, 2, -1, huge()]) }),
    () => JSON.stringify({ type: 'hb', t: huge() }),
    () => JSON.stringify({ type: 'visibility', hidden: pick([true, 'yes', 1]) }),
    () => JSON.stringify({ type: 'pause', extra: { nested: [1, 2, 3] } }),
    () => `{"type":"results","items":[{"a":${JSON.stringify(id())},"ok":true,"output":${'['.repeat(8000)}${']'.repeat(8000)}}]}`,
    () => JSON.stringify({ type: 'hb', pad: 'p'.repeat(pick([10, 100_000, 5 * 1024 * 1024])) }),
  ];
  return pick(frames)();
}

interface FuzzStats {
  connections: number;
  frames: number;
  closes: Map<number, number>;
}

/** One fuzzer: connect, maybe say hello, throw frames until closed, reconnect; until `until`. */
async function fuzzer(url: string, rand: Rand, until: number, stats: FuzzStats, known: { ids: string[] }): Promise<void> {
  while (Date.now() < until && stats.connections < 2000) {
    stats.connections++;
    const ws = new WebSocket(new URL(VOLUNTEER_PATH, url.replace(/^http/, 'ws')));
    const closed = new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    ws.on('error', () => undefined);
    const opened = await Promise.race([new Promise<boolean>((r) => ws.once('open', () => r(true))), closed.then(() => false)]);
    if (!opened) continue;
    if (rand() < 0.6) ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, threads: 1 + Math.floor(rand() * 4) }));
    let code = -1;
    void closed.then((c) => (code = c));
    for (let k = 0; k < 50 && code === -1 && Date.now() < until; k++) {
      const frame = garbage(rand, known);
      stats.frames++;
      ws.send(frame, { binary: Buffer.isBuffer(frame) });
      await new Promise((r) => setTimeout(r, rand() * 20));
    }
    if (code === -1) ws.terminate();
    code = await closed;
    stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
  }
}

/** A thief: joins properly, takes one lease, and forges results and failures for its neighbours' attempts. */
async function thief(url: string, rand: Rand, until: number, known: { ids: string[] }, forged: { n: number }): Promise<void> {
  while (Date.now() < until) {
    const ws = new WebSocket(new URL(VOLUNTEER_PATH, url.replace(/^http/, 'ws')));
    ws.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    await Promise.race([new Promise((r) => ws.once('open', r)), closed]);
    if (ws.readyState !== WebSocket.OPEN) continue;
    ws.on('message', (d) => {
      const msg = JSON.parse(d.toString()) as MasterMessage;
      if (msg.type !== 'tasks') return;
      for (const t of msg.items) {
        known.ids.push(t.a);
        const [boot, n] = t.a.split('.') as [string, string];
        const guesses = Array.from({ length: 30 }, (_, k) => `${boot}.${(parseInt(n, 36) - 15 + k).toString(36)}`).filter((a) => a !== t.a);
        forged.n += 2 * guesses.length;
        ws.send(JSON.stringify({ type: 'results', items: guesses.map((a) => ({ a, ok: true, output: 'forged' })) }));
        ws.send(JSON.stringify({ type: 'results', items: guesses.map((a) => ({ a, ok: false, error: 'forged' })) }));
        ws.send(JSON.stringify({ type: 'release', attempts: guesses }));
      }
    });
    ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, threads: 1 }));
    ws.send(JSON.stringify({ type: 'want', n: 1 }));
    // Keep the lease a while, answering heartbeats, then drop it (a loss, not a failure: rule L5).
    const stay = Date.now() + 1000 + rand() * 2000;
    while (Date.now() < Math.min(stay, until) && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'hb' }));
      await new Promise((r) => setTimeout(r, 200));
    }
    ws.terminate();
    await closed;
  }
}

describe('[S13] protocol fuzz while a job runs', () => {
  it('the master stays up, violators are closed with defined codes, honest volunteers are unaffected, the job is exact', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const client = api(master.url, token);
    for (let k = 0; k < 2; k++) {
      const v = new HeadlessVolunteer({ url: master.url, threads: 2, prefetch: 2 });
      v.start();
      honest.push(v);
    }
    await waitFor('honest volunteers online', () => honest.every((v) => v.online), 30_000);
    // 4 honest threads at 8 ms a task do at most 500 tasks/s: 5,000 outlast the 10 s of fuzz on any machine.
    const TOTAL = 5000;
    const job = await client.createJob({ name: 'fuzzed', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });

    const until = Date.now() + 10_000;
    const stats: FuzzStats = { connections: 0, frames: 0, closes: new Map() };
    const known = { ids: [] as string[] };
    const forged = { n: 0 };
    await Promise.all([
      ...Array.from({ length: 6 }, (_, k) => fuzzer(master.url, prng(seed + k + 1), until, stats, known)),
      ...Array.from({ length: 2 }, (_, k) => thief(master.url, prng(seed + 100 + k), until, known, forged)),
    ]);
    const runningAfterFuzz = (await client.job(job.id)).status !== 'completed';

    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 60_000, 200);
    const lines = await client.results(job.id);
    console.log(
      `[S13] fuzz seed ${seed}: ${stats.connections} connections, ${stats.frames} frames, ${forged.n} forged outcomes; closes ${JSON.stringify(Object.fromEntries(stats.closes))}; job still running when the fuzz ended: ${runningAfterFuzz}`,
    );
    expect(master.child.exitCode, `master exited: ${master.output().slice(-2000)}`).toBeNull();
    expect((await client.raw('/healthz')).status).toBe(200);
    expect(runningAfterFuzz, 'the fuzz overlapped the job').toBe(true);
    expect(stats.frames).toBeGreaterThan(1000);
    for (const [closeCode, n] of stats.closes) {
      if (closeCode === 1006 || closeCode === 1005) continue; // our own terminate()
      expect(DEFINED.has(closeCode), `${n} closes with undefined code ${closeCode}`).toBe(true);
    }
    expect(stats.closes.get(CloseCode.Internal) ?? 0, 'a frame tripped a bug in the master').toBe(0);
    expect(expectExactlyOnce(lines, TOTAL, expected)).toEqual([]);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    for (const v of honest) {
      expect(v.online, 'honest volunteer still online').toBe(true);
      expect(v.connections, 'honest volunteer never lost its connection').toBe(1);
    }
    expect(master.output()).not.toMatch(/uncaught|unhandled|FATAL/i);
  });
});
