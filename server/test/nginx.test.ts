/**
 * The documented load balancer (docs/load-balancer.md): nginx running docs/nginx.conf itself, in front of
 * two masters on PostgreSQL. Clients' own addresses reach the masters' per-address limits; a headless
 * worker, a job submission, a followed results stream and the dashboard's WebSocket all go through nginx;
 * the master the worker was on is killed with kill -9, the worker comes back through nginx to the other
 * one, and the job completes exactly.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, DASHBOARD_PATH, PROTOCOL_VERSION, VOLUNTEER_PATH, type FeedServerMessage, type ResultLine, type VolunteerPage } from '@barnraise/shared';
import { describeWithPg, dropSchemas, PG_TEST_URL } from '../src/store/postgres/testing.ts';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';
import { describeNeeding } from './needs.ts';
import { findNginx, startNginx, type NginxProc } from './nginx.ts';

const token = 'nginx-test-token';
const schema = `nginx_${randomBytes(4).toString('hex')}`;
const procs: Proc[] = [];
const dirs: string[] = [];
let lb: NginxProc | null = null;
const masters: MasterProc[] = [];

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await lb?.destroy();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  await dropSchemas([schema]).catch(() => {});
}, 60_000);

const nginx = await findNginx();
const noNginx = nginx ? null : "nginx is not installed (scripts/test.sh installs Debian's `nginx` when it can: as root or with passwordless sudo)";
const FAST = { BARNRAISE_BEAT_MS: '250', BARNRAISE_CLAIM_TTL_MS: '1500', BARNRAISE_SYNC_MS: '250', BARNRAISE_HEARTBEAT_MS: '500' };
const code = 'export default (n) => { const end = Date.now() + 4; while (Date.now() < end); return n * 5 - 2; }';
const TOTAL = 2500;

/** A raw volunteer socket through nginx from a chosen loopback address: welcomed, or closed with a code. */
async function joinFrom(localAddress: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; outcome: 'welcome' | number }> {
  const ws = new WebSocket(new URL(VOLUNTEER_PATH, lb!.url.replace('http', 'ws')), { localAddress, headers });
  const outcome = await new Promise<'welcome' | number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no welcome and no close in 10 s')), 10_000);
    const done = (o: 'welcome' | number) => {
      clearTimeout(timer);
      resolve(o);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, threads: 1, agent: 'node' })));
    ws.on('message', (d) => {
      if ((JSON.parse(d.toString()) as { type: string }).type === 'welcome') done('welcome');
    });
    ws.on('close', (c) => done(c));
    ws.on('error', () => {});
  });
  return { ws, outcome };
}

/** The dashboard's live feed through nginx, authenticated. */
function dashboard() {
  const ws = new WebSocket(new URL(DASHBOARD_PATH, lb!.url.replace('http', 'ws')));
  const frames: FeedServerMessage[] = [];
  let closed: number | null = null;
  ws.on('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as FeedServerMessage));
  ws.on('close', (c) => (closed = c));
  ws.on('error', () => {});
  const job = (id: string) => frames.flatMap((f) => f.jobs).filter((j) => j.id === id).at(-1);
  return { ws, frames, closed: () => closed, job };
}

/** Follow a job's results through nginx: the lines so far, and how the stream ended. */
function follow(jobId: string) {
  const lines: ResultLine[] = [];
  const ended = (async () => {
    const res = await fetch(`${lb!.url}/api/jobs/${jobId}/results?follow=true`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`follow: ${res.status}`);
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      rest += decoder.decode(chunk, { stream: true });
      const parts = rest.split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p) lines.push(JSON.parse(p) as ResultLine);
    }
    if (rest) throw new Error(`stream ended inside a line: ${rest.slice(0, 80)}`);
  })();
  return { lines, ended };
}

async function localVolunteers(m: MasterProc): Promise<number> {
  const res = await fetch(`${m.url}/api/volunteers?local=true`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as VolunteerPage).total;
}

describeWithPg('[K] nginx in front of two masters (docs/nginx.conf)', () => {
  describeNeeding(noNginx, 'the documented configuration', () => {
    beforeAll(async () => {
      for (let k = 0; k < 2; k++) {
        const dataDir = tempDir();
        dirs.push(dataDir);
        const env = {
          ...FAST,
          BARNRAISE_DATABASE_URL: PG_TEST_URL,
          BARNRAISE_DATABASE_SCHEMA: schema,
          // As docs/load-balancer.md says: trust nginx (here on loopback) for the client's address.
          BARNRAISE_TRUST_PROXY: '127.0.0.1',
          BARNRAISE_MAX_CONNECTIONS_PER_ADDRESS: '2',
        };
        const m = await startMaster({ dataDir, token, env });
        procs.push(m);
        masters.push(m);
      }
      lb = await startNginx(nginx!, masters.map((m) => m.port));
    }, 120_000);

    it('[S2][S8] the masters see each client\'s own address, not nginx\'s, and a client cannot choose one (X-Forwarded-For)', async () => {
      // Two masters, at most 2 sockets per address on each: of 5 from one address at least one is refused.
      const crowd = [];
      for (let i = 0; i < 5; i++) crowd.push(await joinFrom('127.0.0.2'));
      // The same address claiming another in its own X-Forwarded-For header is still itself.
      const spoofed = await joinFrom('127.0.0.2', { 'x-forwarded-for': '198.51.100.9' });
      // Another client's address has its own allowance: were the masters to see nginx's address, the six
      // sockets above would have used it up.
      const other = await joinFrom('127.0.0.3');
      try {
        const outcomes = crowd.map((c) => c.outcome);
        expect(outcomes.filter((o) => o === 'welcome')).toHaveLength(4);
        expect(outcomes.filter((o) => o === CloseCode.TooManyConnections)).toHaveLength(1);
        expect(spoofed.outcome).toBe(CloseCode.TooManyConnections);
        expect(other.outcome).toBe('welcome');
      } finally {
        for (const c of [...crowd, spoofed, other]) c.ws.terminate();
      }
      await waitFor('the test sockets gone', async () => (await Promise.all(masters.map(localVolunteers))).every((n) => n === 0), 10_000);
    }, 60_000);

    it('[K][S9] a job submitted, followed and computed through nginx survives kill -9 of the master the worker was on', async () => {
      const onLb = api(lb!.url, token);
      // [S9] A body over nginx's default 1 MB limit passes (client_max_body_size), and a REST call reaches a master.
      const big = await onLb.createJob({ name: 'big', code: 'export default (s) => s.length', inputs: Array.from({ length: 24 }, () => 'x'.repeat(100_000)) });
      expect((await onLb.cancel(big.id)).status).toBe('cancelled');
      expect((await onLb.raw('/api/stats')).status).toBe(200);

      const worker = startWorker(lb!.url, 2);
      procs.push(worker);
      // [K6] A followed stream is not buffered: of a job whose second task takes 3 s, the first line
      // arrives while it runs (buffered, both would come at its end).
      const trickle = await onLb.createJob({ name: 'trickle', code: 'export default (ms) => { const end = Date.now() + ms; while (Date.now() < end); return ms; }', inputs: [0, 3000] });
      const slow = follow(trickle.id);
      await waitFor('the first line of a running job through nginx', () => slow.lines.length > 0, 30_000, 20);
      expect((await onLb.job(trickle.id)).status).toBe('running');
      expect(slow.lines).toEqual([{ index: 0, status: 'done', output: 0 }]);
      await slow.ended;
      expect(slow.lines).toHaveLength(2);

      const job = await onLb.createJob({ name: 'fives', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
      const on = await waitFor('the worker on a master', async () => {
        const counts = await Promise.all(masters.map(localVolunteers));
        return counts.reduce((a, b) => a + b, 0) === 1 && counts.indexOf(1) + 1;
      }, 30_000);
      const victim = masters[on - 1]!;
      const survivor = masters[2 - on]!;

      // A follower and a dashboard, both through nginx (least_conn puts the follower on the other master).
      let follower = follow(job.id);
      const feed = dashboard();
      await waitFor('the dashboard\'s snapshot', () => feed.frames.some((f) => f.type === 'snapshot'), 10_000);
      await waitFor('results streamed through nginx mid-job', () => follower.lines.length >= 100, 60_000);
      expect((await onLb.job(job.id)).status).toBe('running');
      await waitFor('the dashboard shows progress', () => (feed.job(job.id)?.counts.done ?? 0) > 0, 10_000);
      const before = await api(survivor.url, token).results(job.id);

      expect(await victim.kill('SIGKILL')).toBe('SIGKILL');
      const killedAt = Date.now();
      await waitFor('the worker back through nginx on the other master', async () => (await localVolunteers(survivor)) === 1, 30_000, 50);
      const back = Date.now() - killedAt;
      // [K] REST through nginx while one master is dead: each request reaches the live one.
      for (let i = 0; i < 6; i++) expect((await onLb.raw(`/api/jobs/${job.id}`, { headers: onLb.headers })).status).toBe(200);

      // A follower whose master died sees its stream fail (never a clean, short end); it follows again.
      const firstEnd = await follower.ended.then(() => 'ok', (err: Error) => err);
      let refollowed = false;
      if (firstEnd !== 'ok' && !(await onLb.job(job.id).then((j) => j.status === 'completed'))) {
        refollowed = true;
        follower = follow(job.id);
      }
      const final = await waitFor('job completed', async () => {
        const j = await onLb.job(job.id);
        return j.status === 'completed' && j;
      }, 150_000, 200);
      expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
      await follower.ended;
      expect(expectExactlyOnce(follower.lines, TOTAL, (n) => n * 5 - 2)).toEqual([]);
      const lines = await onLb.results(job.id);
      expect(expectExactlyOnce(lines, TOTAL, (n) => n * 5 - 2)).toEqual([]);
      const byIndex = new Map(lines.map((l) => [l.index, l]));
      for (const l of before) expect(byIndex.get(l.index)).toEqual(l);
      expect(worker.child.exitCode, worker.output()).toBeNull();

      // The dashboard's socket: on the survivor it saw the job complete; on the victim it closed, and a
      // new one through nginx gets the survivor's snapshot.
      let view = feed;
      if (feed.closed() !== null) view = dashboard();
      await waitFor('the dashboard shows the job completed', () => view.job(job.id)?.status === 'completed', 15_000);
      for (const f of [feed, view]) f.ws.terminate();
      console.log(`[K] through nginx: the worker was back on the other master ${back} ms after kill -9; follower ${refollowed ? 'was on the killed master and followed again' : 'was on the other master'}; dashboard ${view === feed ? 'kept its socket' : 'reconnected'}`);
    }, 300_000);
  });
});
