import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'workers-test-token';
const dataDir = tempDir();
let master: MasterProc;
const workers: Proc[] = [];

beforeAll(async () => {
  master = await startMaster({ dataDir, token, env: { BARNRAISE_HEARTBEAT_MS: '500' } });
});
afterAll(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// Each task spins ~3 ms so that the job is still running when a worker is killed.
const code = `export default (n, ctx) => { const end = Date.now() + 3; while (Date.now() < end); ctx.progress(1); return n * n + 1; }`;

describe('end to end with headless workers', () => {
  it('a 1000-task job on 3 workers, one killed mid-run: every result correct, each index exactly once', async () => {
    const client = api(master.url, token);
    const job = await client.createJob({ name: 'squares', code, inputs: Array.from({ length: 1000 }, (_, i) => i) });
    for (let k = 0; k < 3; k++) workers.push(startWorker(master.url, 2));
    await waitFor('3 volunteers online', async () => ((await (await client.raw('/api/stats')).json()) as { volunteers: number }).volunteers === 3, 30_000);
    const done = () => client.job(job.id).then((j) => j.counts.done);
    await waitFor('some progress before the kill', async () => (await done()) >= 150, 60_000);
    expect(await done(), 'the kill happens mid-run').toBeLessThan(1000);
    await workers[0]!.kill('SIGKILL');
    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 90_000, 200);
    expect(final.counts).toMatchObject({ done: 1000, failed: 0, queued: 0, leased: 0 });
    expect(final.requeues, 'the killed worker\'s leases were requeued').toBeGreaterThan(0);
    const lines = await client.results(job.id);
    expect(lines).toHaveLength(1000);
    expect(expectExactlyOnce(lines, 1000, (i) => i * i + 1)).toEqual([]);
    expect(lines.map((l) => l.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  }, 120_000);

  it('[T2] code that throws, and code that runs forever, fail after maxAttempts with their last error; the rest completes', async () => {
    const client = api(master.url, token);
    const flaky = `export default (n) => {
      if (n === -1) for (;;) {}
      if (n % 2) throw new RangeError('odd input ' + n);
      return n / 2;
    }`;
    const inputs = [-1, ...Array.from({ length: 20 }, (_, i) => i)];
    const job = await client.createJob({ code: flaky, inputs, timeoutMs: 300, maxAttempts: 2 });
    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 60_000, 100);
    expect(final.counts).toMatchObject({ done: 10, failed: 11 });
    const lines = await client.results(job.id);
    expect(lines[0]).toEqual({ index: 0, status: 'failed', error: 'timed out after 300 ms' });
    for (const line of lines.slice(1)) {
      const n = inputs[line.index]!;
      expect(line).toEqual(n % 2 ? { index: line.index, status: 'failed', error: `RangeError: odd input ${n}` } : { index: line.index, status: 'done', output: n / 2 });
    }
    expect(final.requeues).toBeGreaterThanOrEqual(11);
  });
});
