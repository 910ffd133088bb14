/**
 * GET /metrics (rule O2) on a real master: who may read it, that it parses as Prometheus text (with a
 * Prometheus text parser, not a pattern of our own), and that its task counters follow a job run by a real
 * headless worker.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { Access } from '../src/security/access.ts';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { SERVER_DIR, startWorker, waitFor, type Proc } from './helpers.ts';

const SCRAPE_TOKEN = 'scrape-token-for-prometheus-42';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster({ metricsToken: SCRAPE_TOKEN });
});
afterAll(async () => m.close());

async function scrape(): Promise<MetricFamily[]> {
  const res = await m.api.raw('/metrics', { headers: { authorization: `Bearer ${SCRAPE_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(await res.text());
}

/** The value of one series (a counter or gauge), by family name and labels; undefined when absent. */
function value(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = families.find((f) => f.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

const concrete = (url: string) => url.replace(/:[A-Za-z_]+/g, 'j_nope').replace(/\*$/, 'x');

describe('[O2] GET /metrics', () => {
  it('needs the operator token or the scrape token; the scrape token opens nothing else', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${SCRAPE_TOKEN}x`, SCRAPE_TOKEN, `Basic ${SCRAPE_TOKEN}`]) {
      const res = await m.api.raw('/metrics', { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, String(authorization)).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('UNAUTHORIZED');
    }
    for (const token of [SCRAPE_TOKEN, m.token]) {
      expect((await m.api.raw('/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    }
    const operatorRoutes = m.app.routeTable.filter((r) => r.access === Access.operator);
    expect(operatorRoutes.length).toBeGreaterThanOrEqual(10);
    for (const r of operatorRoutes) {
      const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) ? JSON.stringify({ code: 'export default (n) => n', inputs: [1] }) : undefined;
      const res = await m.api.raw(concrete(r.url), { method: r.method, headers: { authorization: `Bearer ${SCRAPE_TOKEN}`, 'content-type': 'application/json' }, body });
      expect(res.status, `${r.method} ${r.url} with the scrape token`).toBe(401);
    }
  });

  it('parses as Prometheus text; every family is named barnraise_*, and docs/metrics.md lists the master\'s own', async () => {
    const families = await scrape();
    expect(families.length).toBeGreaterThan(20);
    for (const f of families) expect(f.name, f.name).toMatch(/^barnraise_/);
    const own = {
      barnraise_tasks_done_total: 'COUNTER',
      barnraise_tasks_failed_total: 'COUNTER',
      barnraise_tasks_requeued_total: 'COUNTER',
      barnraise_leases: 'GAUGE',
      barnraise_volunteers: 'GAUGE',
      barnraise_threads: 'GAUGE',
      barnraise_tasks_queued: 'GAUGE',
      barnraise_jobs_active: 'GAUGE',
      barnraise_commit_duration_seconds: 'HISTOGRAM',
      barnraise_store_queue_depth: 'GAUGE',
      barnraise_nodejs_eventloop_lag_seconds: 'GAUGE',
    };
    for (const [name, type] of Object.entries(own)) expect(families.find((f) => f.name === name)?.type, name).toBe(type);
    expect(families.find((f) => f.name === 'barnraise_tasks_requeued_total')!.metrics.map((s) => s.labels?.reason).sort()).toEqual(['expired', 'failed', 'lost', 'released']);
    expect(families.find((f) => f.name === 'barnraise_store_queue_depth')!.metrics.map((s) => s.labels?.queue).sort()).toEqual(['store', 'writer']);
    const doc = fs.readFileSync(path.join(SERVER_DIR, '../docs/metrics.md'), 'utf8');
    for (const name of Object.keys(own)) expect(doc.includes(`| \`${name}\``) || doc.includes(`| \`${name}{`), `docs/metrics.md lists ${name}`).toBe(true);
  });

  it('task counters move by exactly the size of a job run on a real headless worker', { timeout: 90_000 }, async () => {
    const before = await scrape();
    const worker: Proc = startWorker(m.url, 2);
    try {
      // 12 tasks; the 3 whose input is a multiple of 4 fail both of their 2 attempts.
      const job = await m.api.createJob({ code: 'export default (n) => { if (n % 4 === 0) throw new Error("no " + n); return n * n; }', inputs: Array.from({ length: 12 }, (_, i) => i), maxAttempts: 2 });
      await waitFor('job completed', async () => (await m.api.job(job.id)).status === 'completed', 60_000, 100);
      const results = await m.api.results(job.id);
      expect(results.filter((l) => l.status === 'failed').map((l) => l.index)).toEqual([0, 4, 8]);
      const after = await scrape();
      const delta = (name: string, labels?: Record<string, string>) => value(after, name, labels)! - value(before, name, labels)!;
      expect(delta('barnraise_tasks_done_total')).toBe(9);
      expect(delta('barnraise_tasks_failed_total')).toBe(3);
      expect(delta('barnraise_tasks_done_total') + delta('barnraise_tasks_failed_total'), 'done + failed = the job\'s size').toBe(12);
      expect(delta('barnraise_tasks_requeued_total', { reason: 'failed' }), 'one retry per failing task').toBe(3);
      for (const reason of ['expired', 'lost', 'released']) expect(delta('barnraise_tasks_requeued_total', { reason }), reason).toBe(0);
      const commits = after.find((f) => f.name === 'barnraise_commit_duration_seconds')!.metrics[0]!;
      expect(Number(commits.count)).toBeGreaterThan(0);
      expect(Number(commits.buckets!['+Inf'])).toBe(Number(commits.count));
      expect(value(after, 'barnraise_volunteers')).toBe(1);
      expect(value(after, 'barnraise_threads')).toBe(2);
      expect(value(after, 'barnraise_leases')).toBe(0);
    } finally {
      await worker.kill('SIGKILL');
    }
  });
});
