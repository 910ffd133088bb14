/**
 * Several masters on one PostgreSQL (SPEC.md K): three master processes behind a round-robin TCP proxy (the
 * load balancer), headless workers through it, a job submitted to one master and followed on another, one
 * master killed with kill -9 mid-job; and a master cut off from the database.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import type { ResultLine, Stats } from '@barnraise/shared';
import { describeWithPg, PG_TEST_URL } from '../src/store/postgres/testing.ts';
import { api, expectExactlyOnce, freePort, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';
import { TcpProxy } from './tcp.ts';

const token = 'cluster-test-token';
const procs: Proc[] = [];
const proxies: TcpProxy[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const p of proxies) await p.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Fast beats so a dead master's claims free in about 1.5 s. */
const FAST = { BARNRAISE_BEAT_MS: '250', BARNRAISE_CLAIM_TTL_MS: '1500', BARNRAISE_SYNC_MS: '250', BARNRAISE_HEARTBEAT_MS: '500' };

async function cluster(n: number, db = PG_TEST_URL, env: NodeJS.ProcessEnv = {}): Promise<{ masters: MasterProc[]; schema: string }> {
  const schema = `cluster_${randomBytes(4).toString('hex')}`;
  const masters: MasterProc[] = [];
  for (let k = 0; k < n; k++) {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const m = await startMaster({ dataDir, token, env: { ...FAST, BARNRAISE_DATABASE_URL: db, BARNRAISE_DATABASE_SCHEMA: schema, ...env } });
    procs.push(m);
    masters.push(m);
  }
  return { masters, schema };
}

/** Read a followed results stream to its end. */
async function follow(url: string, jobId: string): Promise<ResultLine[]> {
  const res = await fetch(`${url}/api/jobs/${jobId}/results?follow=true`, { headers: { authorization: `Bearer ${token}` } });
  return (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ResultLine);
}

const code = 'export default (n) => { const end = Date.now() + 3; while (Date.now() < end); return n * 3; }';

describeWithPg('[K] three masters on one PostgreSQL', () => {
  it('[K1][K2][K4][K6][K7] a job submitted to one master, followed on another, survives kill -9 of a third: every result exact, each index once', async () => {
    const { masters } = await cluster(3);
    const [a, b, c] = masters as [MasterProc, MasterProc, MasterProc];
    const lb = await TcpProxy.start(masters.map((m) => m.port));
    proxies.push(lb);
    const onA = api(a.url, token);
    const onB = api(b.url, token);

    // [S5] One Idempotency-Key sent to two masters at the same moment makes one job.
    const key = `k-${randomBytes(4).toString('hex')}`;
    const body = JSON.stringify({ name: 'dup', code, inputs: [1, 2] });
    const twice = await Promise.all([a, b].map((m) => fetch(`${m.url}/api/jobs`, { method: 'POST', headers: { ...onA.headers, 'idempotency-key': key }, body })));
    const ids = await Promise.all(twice.map(async (r) => ((await r.json()) as { id: string }).id));
    expect(twice.map((r) => r.status)).toEqual([201, 201]);
    expect(ids[0]).toBe(ids[1]);

    const TOTAL = 3000;
    const job = await onA.createJob({ name: 'triples', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    const followed = follow(b.url, job.id);
    for (let k = 0; k < 3; k++) procs.push(startWorker(lb.url, 1));
    // [K7] Every master shows every master's volunteers.
    await waitFor('three volunteers seen from B', async () => ((await (await fetch(`${b.url}/api/stats`)).json()) as Stats).volunteers === 3, 30_000);
    await waitFor('a good part done', async () => (await onB.job(job.id)).counts.done >= 600, 90_000);
    const before = await onA.results(job.id);

    expect(await c.kill('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    // Its volunteers come back through the balancer to the others: three again within seconds.
    await waitFor('volunteers back on A and B', async () => ((await (await fetch(`${a.url}/api/stats`)).json()) as Stats).volunteers === 3, 20_000, 100);
    const back = Date.now() - killedAt;
    const final = await waitFor('job completed', async () => {
      const j = await onA.job(job.id);
      return j.status === 'completed' && j;
    }, 150_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    const lines = await onA.results(job.id);
    expect(expectExactlyOnce(lines, TOTAL, (n) => n * 3)).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    for (const l of before) expect(byIndex.get(l.index)).toEqual(l);
    // [K6] The follower on B saw every result once, though a third of them came through other masters.
    const seen = await followed;
    expect(expectExactlyOnce(seen, TOTAL, (n) => n * 3)).toEqual([]);
    console.log(`[K2] volunteers of the killed master working elsewhere after ${back} ms`);
  }, 300_000);

  it('[K7][J3] a cancel on one master reaches the volunteers of every master', async () => {
    const { masters } = await cluster(2);
    const [a, b] = masters as [MasterProc, MasterProc];
    procs.push(startWorker(a.url, 1), startWorker(b.url, 1));
    const slow = 'export default (n) => { const end = Date.now() + 50; while (Date.now() < end); return n; }';
    const job = await api(a.url, token).createJob({ code: slow, inputs: Array.from({ length: 2000 }, (_, i) => i) });
    const onB = api(b.url, token);
    await waitFor('both masters lease it', async () => {
      const [x, y] = await Promise.all([api(a.url, token).job(job.id), onB.job(job.id)]);
      return x.counts.leased > 0 && y.counts.leased > 0;
    }, 30_000);
    expect((await onB.cancel(job.id)).status).toBe('cancelled');
    await waitFor('nothing leased on A either', async () => (await api(a.url, token).job(job.id)).counts.leased === 0, 5000, 50);
    const done = (await onB.job(job.id)).counts.done;
    await new Promise((r) => setTimeout(r, 1000));
    expect((await onB.job(job.id)).counts.done - done).toBeLessThanOrEqual(2);
  }, 120_000);

  it('[K7] a job submitted to one master reaches the volunteers of another at once, not at its next read of the jobs', async () => {
    // The periodic read slowed to a minute: only the database's notification can bring the job over in time.
    const { masters } = await cluster(2, PG_TEST_URL, { BARNRAISE_SYNC_MS: '60000' });
    const [a, b] = masters as [MasterProc, MasterProc];
    procs.push(startWorker(b.url, 1));
    await waitFor('the volunteer on B', async () => ((await (await fetch(`${b.url}/api/stats`)).json()) as Stats).volunteers === 1, 30_000);
    const job = await api(a.url, token).createJob({ code: 'export default (n) => n + 1', inputs: [1, 2, 3] });
    const at = Date.now();
    await waitFor('done through B', async () => (await api(b.url, token).job(job.id)).status === 'completed', 10_000, 20);
    expect(Date.now() - at).toBeLessThan(5000);
    expect((await api(a.url, token).results(job.id)).map((l) => (l.status === 'done' ? l.output : l.error))).toEqual([2, 3, 4]);
  }, 60_000);

  it('[K3][K8] a master cut off from the database stops leasing and acknowledging; the others take its work; it resumes when reconnected', async () => {
    const pgPort = Number(new URL(PG_TEST_URL).port || 5432);
    const cut = await TcpProxy.start([pgPort]);
    proxies.push(cut);
    const viaCut = new URL(PG_TEST_URL);
    viaCut.port = String(cut.port);
    const schema = `cluster_${randomBytes(4).toString('hex')}`;
    const start = async (db: string) => {
      const dataDir = tempDir();
      dirs.push(dataDir);
      const m = await startMaster({ dataDir, token, port: await freePort(), env: { ...FAST, BARNRAISE_DATABASE_URL: db, BARNRAISE_DATABASE_SCHEMA: schema } });
      procs.push(m);
      return m;
    };
    const steady = await start(PG_TEST_URL);
    const isolated = await start(viaCut.toString());
    procs.push(startWorker(steady.url, 1), startWorker(isolated.url, 2));
    const onSteady = api(steady.url, token);
    const TOTAL = 2500;
    const job = await onSteady.createJob({ code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    await waitFor('the isolated master leases', async () => (await api(isolated.url, token).job(job.id)).counts.leased > 0, 30_000);
    cut.cut();
    // Its claims are freed by the other's sweep, and the job goes on there.
    const at = (await onSteady.job(job.id)).counts.done;
    await waitFor('progress without the isolated master', async () => (await onSteady.job(job.id)).counts.done > at + 200, 60_000);
    // Trivial tasks may make that progress before the isolated master's beat limit runs out: wait for it to say so.
    await waitFor('the isolated master says it lost the store', () => isolated.output().includes('lost the store'), 30_000, 100);
    cut.restore();
    await waitFor('the isolated master back', () => isolated.output().includes('the store is back'), 30_000, 100);
    const final = await waitFor('job completed', async () => {
      const j = await onSteady.job(job.id);
      return j.status === 'completed' && j;
    }, 150_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    expect(expectExactlyOnce(await onSteady.results(job.id), TOTAL, (n) => n * 3)).toEqual([]);
  }, 300_000);

  it('[A2][A4] an asset uploaded to one master serves a job submitted to a second and the volunteers of a third: each fetches it from the others, checked by hash', async () => {
    const { masters } = await cluster(3);
    const [a, b, c] = masters as [MasterProc, MasterProc, MasterProc];
    const bytes = Buffer.from(JSON.stringify(Array.from({ length: 5000 }, (_, i) => i % 97)));
    const sha = createHash('sha256').update(bytes).digest('hex');
    const put = await fetch(`${a.url}/api/assets/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
    expect(put.status).toBe(201);
    // B and C learn of the others from the store at their beats (every 250 ms here).
    await new Promise((r) => setTimeout(r, 750));
    const onB = api(b.url, token);
    const missing = createHash('sha256').update('on no master').digest('hex');
    const refused = await onB.raw('/api/jobs', { method: 'POST', headers: onB.headers, body: JSON.stringify({ code: 'export default (n) => n', inputs: [1], assets: { t: missing } }) });
    expect(refused.status).toBe(422);
    const job = await onB.createJob({ code: 'export default (n, ctx) => ctx.assets.json("t")[n]', inputs: [1, 96, 97, 200], assets: { t: sha } });
    expect(job.assets).toEqual([{ name: 't', sha256: sha, size: bytes.length }]);
    // A volunteer of C only: C does not have it, asks A or B, keeps it and serves it.
    procs.push(startWorker(c.url, 1));
    const lines = await follow(c.url, job.id);
    expect(lines.map((l) => (l.status === 'done' ? l.output : l.error)).sort()).toEqual([1, 96, 0, 6].sort());
    for (const m of [b, c]) {
      const head = await fetch(`${m.url}/api/assets/${sha}`, { method: 'HEAD' });
      expect(head.status, `${m.url} keeps it now`).toBe(200);
    }
  }, 120_000);
});
