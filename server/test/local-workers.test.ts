/**
 * [N3] `barnraise serve --local-workers N`: compute threads beside the master, on the operator's own machine,
 * with no other volunteer. Real master processes on loopback.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityPage, VolunteerPage } from '@barnraise/shared';
import { LOCAL_IDENTITY_FILE } from '../src/worker/local.ts';
import { api, expectExactlyOnce, startMaster, tempDir, waitFor, type Proc } from './helpers.ts';

const TOKEN = 'local-workers-token';
const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Processes whose parent is `pid` (Linux /proc): the field after the command name in /proc/<n>/stat. */
function childrenOf(pid: number): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(entry)] : [];
    } catch {
      return []; // gone while we looked
    }
  });
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

describe('[N3] local workers', () => {
  it('[N3] serve --local-workers 2 completes a validated job alone: one connection of 2 threads, vouched, shown as this master\'s', async () => {
    const dataDir = tempDir('barnraise-local-');
    dirs.push(dataDir);
    const master = await startMaster({ dataDir, token: TOKEN, env: { BARNRAISE_LOCAL_WORKERS: '2' } });
    procs.push(master);
    const page = await waitFor('the local workers to join', async () => {
      const p = await get<VolunteerPage>(`${master.url}/api/volunteers`);
      return p.total === 1 && p;
    });
    expect(page.rows[0]).toMatchObject({ agent: 'node', browser: 'Node.js', os: 'this master', threads: 2, trust: 'vouched' });
    // No vouch key was configured: the master vouched for its own threads with a key only it knows.
    const identities = await get<IdentityPage>(`${master.url}/api/identities`);
    expect(identities.rows).toEqual([expect.objectContaining({ id: page.rows[0]!.identity, vouched: true, trust: 'vouched' })]);
    expect(fs.existsSync(path.join(dataDir, LOCAL_IDENTITY_FILE))).toBe(true);

    // Adaptive validation leases nothing to anonymous volunteers and lets no untrusted one decide alone:
    // only a vouched machine completes this job by itself (rule V9).
    const client = api(master.url, TOKEN);
    const total = 40;
    const job = await client.createJob({ name: 'local', code: 'export default (n) => n * n', inputs: Array.from({ length: total }, (_, i) => i), validation: { mode: 'adaptive' } });
    const lines = await client.results(job.id, true);
    expect(expectExactlyOnce(lines, total, (i) => i * i)).toEqual([]);
    expect(childrenOf(master.pid), 'threads, not processes').toEqual([]);
  });

  it('[N3] they stop with the master: SIGTERM hands their leases back and exits 0 leaving no process; a restart brings them back as the same identity', async () => {
    const dataDir = tempDir('barnraise-local-');
    dirs.push(dataDir);
    const env = { BARNRAISE_LOCAL_WORKERS: '2' };
    const master = await startMaster({ dataDir, token: TOKEN, env });
    procs.push(master);
    const client = api(master.url, TOKEN);
    const total = 30;
    // ~150 ms each, so the drain finds leases on both threads.
    const code = 'export default (n) => { const end = Date.now() + 150; while (Date.now() < end); return n + 1; }';
    const job = await client.createJob({ name: 'slow', code, inputs: Array.from({ length: total }, (_, i) => i) });
    await waitFor('some tasks done by the local workers', async () => (await client.job(job.id)).counts.done >= 4);
    const { identity } = (await get<VolunteerPage>(`${master.url}/api/volunteers`)).rows[0]!;

    const t0 = Date.now();
    expect(await master.kill('SIGTERM')).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(() => process.kill(master.pid, 0)).toThrow(/ESRCH/);
    expect(childrenOf(master.pid)).toEqual([]);

    const again = await startMaster({ dataDir, token: TOKEN, env });
    procs.push(again);
    const lines = await api(again.url, TOKEN).results(job.id, true);
    expect(expectExactlyOnce(lines, total, (i) => i + 1)).toEqual([]);
    const after = await api(again.url, TOKEN).job(job.id);
    expect(after.counts.failed).toBe(0);
    expect((await get<VolunteerPage>(`${again.url}/api/volunteers`)).rows.map((r) => r.identity)).toEqual([identity]);
  });
});
