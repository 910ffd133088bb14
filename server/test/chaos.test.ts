/**
 * Chaos (docs/THREAT-MODEL.md S12): headless volunteers vanish and new ones join at random while a job
 * runs, and half the swarm leaves at once. The master is a real process; the volunteers are real
 * HeadlessVolunteers (WebSocket, worker_threads) hosted in this process, because starting a volunteer
 * process costs ~1.5 CPU-seconds under tsx and two cores cannot start three a second. A vanished
 * volunteer drops its socket with no close handshake and no release, its threads stopped mid-task:
 * what the master sees of a killed process.
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessVolunteer } from '../src/worker/volunteer.ts';
import { api, expectExactlyOnce, prng, startMaster, tempDir, waitFor, type MasterProc } from './helpers.ts';

const token = 'chaos-test-token';
const dataDir = tempDir();
let master: MasterProc;
const swarm = new Set<HeadlessVolunteer>();

beforeAll(async () => {
  master = await startMaster({ dataDir, token, env: { BARNRAISE_HEARTBEAT_MS: '500' } });
});
afterEach(async () => {
  await Promise.all([...swarm].map(vanish));
});
afterAll(async () => {
  await master?.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// Tasks wait rather than spin, so throughput follows the number of volunteer threads, not the two cores.
const code = `export default async (n) => { await new Promise((r) => setTimeout(r, 20)); return { n, sq: n * n }; }`;
const expected = (n: number) => ({ n, sq: n * n });

function join(): HeadlessVolunteer {
  const v = new HeadlessVolunteer({ url: master.url, threads: 1, prefetch: 2 });
  v.start();
  swarm.add(v);
  return v;
}

function vanish(v: HeadlessVolunteer): Promise<void> {
  swarm.delete(v);
  return v.abandon();
}

const volunteersOnline = async (client: ReturnType<typeof api>) => ((await (await client.raw('/api/stats')).json()) as { volunteers: number }).volunteers;

describe('[S12] chaos', () => {
  it('30% of the volunteers vanish and are replaced every second for 30 s: the job completes, each index exactly once', { timeout: 120_000 }, async () => {
    const client = api(master.url, token);
    const N = 10;
    const TOTAL = 5000;
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    for (let k = 0; k < N; k++) join();
    await waitFor(`${N} volunteers online`, async () => (await volunteersOnline(client)) === N, 30_000);
    const job = await client.createJob({ name: 'chaos', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });

    // Rounds on a fixed one-second beat: victims vanish in the background, so a slow teardown under load
    // does not stretch the beat; the job's status is sampled apart from it.
    let rounds = 0;
    let roundsWhileRunning = 0;
    let vanished = 0;
    let running = true;
    const teardowns: Array<Promise<void>> = [];
    const started = Date.now();
    const sampler = (async () => {
      while (running && Date.now() - started < 120_000) {
        running = (await client.job(job.id)).status !== 'completed';
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    for (let round = 1; round <= 30; round++) {
      await new Promise((r) => setTimeout(r, Math.max(0, started + round * 1000 - Date.now())));
      // Victims at random, those already at work first: one still booting its thread holds no lease yet.
      const shuffled = [...swarm].sort(() => rand() - 0.5);
      const victims = [...shuffled.filter((v) => v.online), ...shuffled.filter((v) => !v.online)].slice(0, Math.round(N * 0.3));
      teardowns.push(...victims.map(vanish));
      for (const _ of victims) join();
      vanished += victims.length;
      rounds++;
      if (running) roundsWhileRunning++;
    }
    await Promise.all(teardowns);
    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 60_000, 200);
    running = false;
    await sampler;
    const lines = await client.results(job.id);
    console.log(`[S12] chaos seed ${seed}: ${rounds} rounds (${roundsWhileRunning} while the job ran), ${vanished} volunteers vanished, ${final.requeues} requeues, done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(roundsWhileRunning, 'the chaos overlapped the job').toBeGreaterThanOrEqual(10);
    expect(expectExactlyOnce(lines, TOTAL, expected)).toEqual([]);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0, queued: 0, leased: 0 });
    expect(final.requeues, 'vanished volunteers held leases').toBeGreaterThan(0);
    expect(lines).toHaveLength(TOTAL);
  });

  it('when half the volunteers leave at once, throughput recovers to what the rest can give', { timeout: 90_000 }, async () => {
    const client = api(master.url, token);
    await waitFor('the swarm is empty', async () => (await volunteersOnline(client)) === 0, 20_000);
    const N = 8;
    const TOTAL = 3000;
    const members = Array.from({ length: N }, () => join());
    await waitFor(`${N} volunteers online`, async () => (await volunteersOnline(client)) === N, 30_000);
    const job = await client.createJob({ name: 'half-leave', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    const done = async () => (await client.job(job.id)).counts.done;
    /** Tasks per second over `ms`, measured on the job's durable count. */
    const rate = async (ms: number) => {
      const [d0, t0] = [await done(), Date.now()];
      await new Promise((r) => setTimeout(r, ms));
      return ((await done()) - d0) / ((Date.now() - t0) / 1000);
    };
    await waitFor('warmed up', async () => (await done()) > 200, 30_000);
    const full = await rate(2500);
    const leftAt = Date.now();
    await Promise.all(members.slice(0, N / 2).map(vanish));
    // Recovery: the first 500 ms window after which the remaining half runs at 80% of its share.
    let recoveredMs = -1;
    for (let k = 0; k < 20 && recoveredMs < 0; k++) {
      if ((await rate(500)) >= 0.8 * (full / 2)) recoveredMs = Date.now() - leftAt;
    }
    const half = await rate(2500);
    console.log(`[S12] throughput: ${full.toFixed(0)} tasks/s with ${N} volunteers, ${half.toFixed(0)} tasks/s after ${N / 2} left (ideal ${(full / 2).toFixed(0)}), back to 80% of that ${recoveredMs} ms after they left`);
    expect(full).toBeGreaterThan(50);
    expect(half, 'the rest are kept busy').toBeGreaterThanOrEqual(0.7 * (full / 2));
    expect(recoveredMs, 'recovered within 10 s').toBeGreaterThan(0);
    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 60_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    expect(expectExactlyOnce(await client.results(job.id), TOTAL, expected)).toEqual([]);
  });
});
