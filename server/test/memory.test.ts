/**
 * [S14][D4] Bounded resources over a long run: the master's RSS before and after 100,000 tasks (ten
 * 10,000-task jobs, one after another) while volunteers keep joining and leaving. Finished jobs' results
 * are on disk (read back in full at the end), not in memory; volunteer records go with their volunteers.
 *
 * The master runs with its V8 old space capped at 96 MB. Measured in-process with forced GCs, its live
 * heap stays at 23 MB over 120,000 tasks; left alone, V8 lets garbage pile up to ~100 MB between major
 * GCs (RSS saw-tooths up to ~240 MB and back), so an uncapped before/after pair mostly measures where in
 * the saw-tooth each reading falls. With the cap, a leak of ~700 bytes per task would exhaust the heap
 * within the run and kill the master, and the RSS pair measures what it should.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Stats } from '@barnraise/shared';
import { api, RawVolunteer, rssBytes, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'memory-test-token';
const dataDir = tempDir();
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const code = 'export default (n) => ({ n, s: "r" + n })';
const JOBS = 10;
const PER_JOB = 10_000;
const MB = 1024 * 1024;

describe('[S14] memory over a long run', () => {
  it('RSS stays flat over 100,000 tasks, and volunteer records leave with their volunteers', { timeout: 240_000 }, async () => {
    const master: MasterProc = await startMaster({
      dataDir,
      token,
      env: { BARNRAISE_CONNECT_PER_SECOND: '1000', BARNRAISE_CONNECT_BURST: '1000', NODE_OPTIONS: '--max-old-space-size=96' },
    });
    procs.push(master);
    const client = api(master.url, token);
    procs.push(startWorker(master.url, 2, ['--prefetch', '4']));
    const stats = async () => (await (await client.raw('/api/stats')).json()) as Stats;
    const runJob = async (n: number) => {
      const job = await client.createJob({ code, inputs: Array.from({ length: n }, (_, i) => i) });
      await waitFor(`job of ${n} completed`, async () => (await client.job(job.id)).status === 'completed', 120_000, 100);
      return job.id;
    };

    // Warm up (JIT, SQLite caches, the worker's threads) before the first reading.
    await runJob(PER_JOB);
    const before = rssBytes(master.pid);
    const started = Date.now();
    let churn = 0;
    const ids: string[] = [];
    const series: number[] = [];
    for (let k = 0; k < JOBS; k++) {
      const running = runJob(PER_JOB);
      // Meanwhile volunteers come and go: 100 joins and leaves per job.
      for (let c = 0; c < 100; c++, churn++) (await RawVolunteer.join(master.url, 1)).close();
      ids.push(await running);
      series.push(Math.round(rssBytes(master.pid) / MB));
    }
    const seconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssBytes(master.pid);
    console.log(
      `[S14] master RSS ${(before / MB).toFixed(1)} MB before, ${(after / MB).toFixed(1)} MB after ${JOBS * PER_JOB} tasks in ${JOBS} jobs (${seconds.toFixed(1)} s, ${((JOBS * PER_JOB) / seconds).toFixed(0)} tasks/s) with ${churn} volunteers joining and leaving; after each job: ${series.join(', ')} MB`,
    );
    expect(Number.isFinite(before) && Number.isFinite(after), 'RSS readable from /proc').toBe(true);
    expect(master.child.exitCode, `master died: ${master.output().slice(-1000)}`).toBeNull();
    // Generous: the point is no growth with the work done. Keeping 100,000 outputs in memory would add
    // tens of MB; leaking a volunteer record per connection would too, over this many.
    expect(after - before, 'RSS growth over 100,000 tasks').toBeLessThan(48 * MB);
    await waitFor('only the worker left online', async () => (await stats()).volunteers === 1, 10_000);
    expect((await stats()).activeJobs).toBe(0);
    // Every result is still there, read from disk.
    for (const id of [ids[0]!, ids[JOBS - 1]!]) {
      const lines = await client.results(id);
      expect(lines).toHaveLength(PER_JOB);
      expect(lines[PER_JOB - 1]).toEqual({ index: PER_JOB - 1, status: 'done', output: { n: PER_JOB - 1, s: `r${PER_JOB - 1}` } });
    }
  });
});
