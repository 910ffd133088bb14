/**
 * [K8] A full disk under a master on SQLite: a real filesystem that fills up (tmpfs of 40 MB, mounted by the
 * test as root). New jobs get a clear error (507 STORE_FULL), not a crash; no acknowledged result is lost;
 * when space returns the master goes on and the job completes exactly.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultLine } from '@barnraise/shared';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type Proc } from './helpers.ts';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const reason = 'mounting a tmpfs (a disk that fills up) needs root; run the suite as root (CI does) to include it';
if (!root) console.warn(`[K8] disk-full test skipped: ${reason}`);

const dir = tempDir('barnraise-full-');
const procs: Proc[] = [];
let mounted = false;
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  if (mounted) execFileSync('umount', ['-l', dir]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Write until the filesystem refuses: ENOSPC. */
function fill(file: string): void {
  const chunk = Buffer.alloc(1 << 20, 1);
  const fd = fs.openSync(file, 'w');
  try {
    for (let k = 0; k < 100; k++) fs.writeSync(fd, chunk);
    throw new Error('the tmpfs did not fill up');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

describe.skipIf(!root)('[K8] a full disk under a master on SQLite', () => {
  it('refuses new jobs with 507 STORE_FULL, loses no acknowledged result, and recovers when space returns', async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir]);
    mounted = true;
    const token = 'disk-full-token';
    const master = await startMaster({ dataDir: path.join(dir, 'data'), token, env: { BARNRAISE_BEAT_MS: '500', BARNRAISE_CLAIM_TTL_MS: '3000' } });
    procs.push(master);
    const client = api(master.url, token);
    const TOTAL = 3000;
    const code = 'export default (n) => { const end = Date.now() + 4; while (Date.now() < end); return n * 2; }';
    const job = await client.createJob({ code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    procs.push(startWorker(master.url, 2));
    await waitFor('some results', async () => (await client.job(job.id)).counts.done >= 200, 60_000);

    fill(path.join(dir, 'filler'));
    const before: ResultLine[] = await client.results(job.id);
    const refused = await client.raw('/api/jobs', { method: 'POST', headers: client.headers, body: JSON.stringify({ code, inputs: Array.from({ length: 5000 }, (_, i) => i) }) });
    expect(refused.status).toBe(507);
    expect(await refused.json()).toMatchObject({ code: 'STORE_FULL', message: expect.stringContaining('no disk space left') as string });
    // Up, and not moving on: nothing is acknowledged that the disk cannot keep.
    expect((await fetch(`${master.url}/healthz`)).ok).toBe(true);
    const stuck = (await client.job(job.id)).counts.done;
    await new Promise((r) => setTimeout(r, 1500));
    expect((await client.job(job.id)).counts.done - stuck).toBeLessThan(50);

    fs.rmSync(path.join(dir, 'filler'));
    const final = await waitFor('job completed once space returned', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 120_000, 250);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    const lines = await client.results(job.id);
    expect(expectExactlyOnce(lines, TOTAL, (n) => n * 2)).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    for (const b of before) expect(byIndex.get(b.index), `result ${b.index} kept`).toEqual(b);
    expect((await client.raw('/api/jobs', { method: 'POST', headers: client.headers, body: JSON.stringify({ code, inputs: [1] }) })).status).toBe(201);
  }, 240_000);
});
