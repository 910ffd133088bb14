/**
 * [D1][D3][E1][S10] kill -9 of the master five times during one 10,000-task job: no accepted job lost,
 * no acknowledged result changed, every index exactly once; an Idempotency-Key survives the kills too.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openIdempotencyKeys } from '../src/security/idempotency.ts';
import type { JobSummary, ResultLine } from '@barnraise/shared';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'crash-repeat-token';
const dataDir = tempDir();
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// About a millisecond of work per task, so that 10,000 of them take several seconds and each kill lands mid-run.
const code = `export default (n) => { const end = Date.now() + 1; while (Date.now() < end); return n * 3 + 1; }`;
const TOTAL = 10_000;
const KILLS = 5;
const env = { BARNRAISE_HEARTBEAT_MS: '500' };

describe('[S10] five kill -9 of the master during one job', () => {
  it('all 10,000 results correct, each index exactly once, every acknowledged result kept, every accepted job kept', { timeout: 240_000 }, async () => {
    let master: MasterProc = await startMaster({ dataDir, token, env });
    procs.push(master);
    const port = master.port;
    let client = api(master.url, token);
    const job = await client.createJob({ name: 'ten-thousand', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    for (let k = 0; k < 2; k++) procs.push(startWorker(master.url, 2));

    const acknowledged = new Map<number, ResultLine>();
    const accepted: JobSummary[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      const target = Math.round((TOTAL * kill) / (KILLS + 1.5));
      await waitFor(`${target} done before kill ${kill}`, async () => (await client.job(job.id)).counts.done >= target, 90_000, 100);
      // What the results stream shows is durable: it must all survive.
      for (const line of await client.results(job.id)) acknowledged.set(line.index, line);
      if (kill === 2) {
        // A job whose 201 came back is accepted: kill the master the moment it answers.
        accepted.push(await client.createJob({ name: 'accepted-then-killed', code, inputs: [1, 2, 3] }));
      }
      if (kill === 3) {
        const res = await client.raw('/api/jobs', { method: 'POST', headers: { ...client.headers, 'idempotency-key': 'crash-key' }, body: JSON.stringify({ name: 'keyed', code, inputs: [7] }) });
        expect(res.status).toBe(201);
        accepted.push((await res.json()) as JobSummary);
      }
      expect(await master.kill('SIGKILL')).toBe('SIGKILL');
      master = await startMaster({ dataDir, token, env, port });
      procs.push(master);
      client = api(master.url, token);
      const now = await client.job(job.id);
      expect(now.counts.done, `after kill ${kill}`).toBeGreaterThanOrEqual(acknowledged.size);
      expect(now.status, `the job was mid-run at kill ${kill}`).not.toBe('completed');
      for (const a of accepted) expect((await client.job(a.id)).id).toBe(a.id);
    }

    const retried = await client.raw('/api/jobs', { method: 'POST', headers: { ...client.headers, 'idempotency-key': 'crash-key' }, body: JSON.stringify({ name: 'keyed', code, inputs: [7] }) });
    expect(((await retried.json()) as JobSummary).id, 'the Idempotency-Key survived the kills').toBe(accepted[1]!.id);

    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 120_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0, queued: 0, leased: 0 });
    const lines = await client.results(job.id);
    expect(lines).toHaveLength(TOTAL);
    expect(expectExactlyOnce(lines, TOTAL, (n) => n * 3 + 1)).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    let changed = 0;
    for (const [i, line] of acknowledged) if (JSON.stringify(byIndex.get(i)) !== JSON.stringify(line)) changed++;
    expect(changed, 'acknowledged results changed').toBe(0);
    expect(acknowledged.size).toBeGreaterThan(TOTAL / 2);
    for (const a of accepted) {
      await waitFor(`accepted job ${a.name} completed`, async () => (await client.job(a.id)).status === 'completed', 30_000, 200);
      expect((await client.results(a.id)).map((l) => l.status)).toEqual(a.total === 1 ? ['done'] : ['done', 'done', 'done']);
    }
  });
});

describe('[S5] Idempotency-Key across a crash', () => {
  it('a key reserved by a master that died before inserting its job makes that job, under the reserved id, on retry', async () => {
    const dir = tempDir();
    try {
      // The state a kill -9 between the two durable writes leaves: the key and its job id, no job.
      const body = JSON.stringify({ name: 'half-made', code, inputs: [1, 2] });
      const keys = openIdempotencyKeys(dir);
      await keys.reserve('died-here', { jobId: 'j_reserved0001', bodySha256: createHash('sha256').update(body).digest('hex') }, Date.now());
      await keys.close();
      const master = await startMaster({ dataDir: dir, token });
      procs.push(master);
      const client = api(master.url, token);
      const post = () => client.raw('/api/jobs', { method: 'POST', headers: { ...client.headers, 'idempotency-key': 'died-here' }, body });
      const first = await post();
      expect(first.status).toBe(201);
      expect(((await first.json()) as JobSummary).id).toBe('j_reserved0001');
      const again = await post();
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(((await again.json()) as JobSummary).id).toBe('j_reserved0001');
      const list = (await (await client.raw('/api/jobs', { headers: client.headers })).json()) as { jobs: JobSummary[] };
      expect(list.jobs.map((j) => j.id)).toEqual(['j_reserved0001']);
      await master.kill('SIGKILL');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
