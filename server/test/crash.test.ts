import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultLine } from '@barnraise/shared';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'crash-test-token';
const dataDir = tempDir();
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const code = `export default (n) => { const end = Date.now() + 2; while (Date.now() < end); return { n, cube: n * n * n }; }`;
const TOTAL = 2000;

describe('[D1][D3] kill -9 of the master', () => {
  it('a job survives kill -9 of the master mid-run: nothing lost, nothing duplicated', async () => {
    const env = { BARNRAISE_HEARTBEAT_MS: '500' };
    let master: MasterProc = await startMaster({ dataDir, token, env });
    procs.push(master);
    const port = master.port;
    let client = api(master.url, token);
    const job = await client.createJob({ name: 'cubes', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    for (let k = 0; k < 2; k++) procs.push(startWorker(master.url, 2));

    await waitFor('a good part done', async () => (await client.job(job.id)).counts.done >= 400, 60_000);
    // What the results stream shows is durable (it reads the store): it must all survive the kill.
    const before: ResultLine[] = await client.results(job.id);
    expect(before.length).toBeGreaterThan(0);
    expect(await master.kill('SIGKILL')).toBe('SIGKILL');

    master = await startMaster({ dataDir, token, env, port });
    procs.push(master);
    client = api(master.url, token);
    const afterRestart = await client.job(job.id);
    expect(afterRestart.status).not.toBe('completed');
    expect(afterRestart.counts.done).toBeGreaterThanOrEqual(before.length);

    const final = await waitFor('job completed after restart', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 120_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    const lines = await client.results(job.id);
    expect(lines).toHaveLength(TOTAL);
    expect(expectExactlyOnce(lines, TOTAL, (n) => ({ n, cube: n * n * n }))).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    for (const b of before) expect(byIndex.get(b.index), `acknowledged result ${b.index} kept`).toEqual(b);
  }, 240_000);
});
