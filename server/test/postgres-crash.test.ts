/**
 * A master on PostgreSQL (BARNRAISE_DATABASE_URL), end to end: a 1,000-task job on a headless worker, the
 * master killed with SIGKILL mid-run and started again on the same database. As crash.test.ts for SQLite.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import type { ResultLine } from '@barnraise/shared';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from '../src/store/postgres/testing.ts';
import { DB_FILE } from '../src/server.ts';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'pg-crash-test-token';
const dataDir = tempDir();
const schema = testSchema('e2e');
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
  await dropSchemas([schema]);
});

const code = `export default (n) => { const end = Date.now() + 4; while (Date.now() < end); return { n, sq: n * n }; }`;
const TOTAL = 1000;

describeWithPg('[D1][D3] a master on PostgreSQL', () => {
  it('runs a job with every result exact and each index once, through kill -9 and a restart', async () => {
    const env = { BARNRAISE_HEARTBEAT_MS: '500', BARNRAISE_DATABASE_URL: PG_TEST_URL, BARNRAISE_DATABASE_SCHEMA: schema };
    let master: MasterProc = await startMaster({ dataDir, token, env });
    procs.push(master);
    const port = master.port;
    let client = api(master.url, token);
    const job = await client.createJob({ name: 'squares', code, inputs: Array.from({ length: TOTAL }, (_, i) => i) });
    procs.push(startWorker(master.url, 2));

    await waitFor('a good part done', async () => (await client.job(job.id)).counts.done >= 200, 60_000, 20);
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
    }, 120_000, 100);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    const lines = await client.results(job.id);
    expect(lines).toHaveLength(TOTAL);
    expect(expectExactlyOnce(lines, TOTAL, (n) => ({ n, sq: n * n }))).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    for (const b of before) expect(byIndex.get(b.index), `acknowledged result ${b.index} kept`).toEqual(b);

    // It was PostgreSQL that kept them: no SQLite file, and the rows and counters are in the test's schema.
    expect(fs.existsSync(path.join(dataDir, DB_FILE))).toBe(false);
    const db = new pg.Client({ connectionString: PG_TEST_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ status: string; done: number; rows_done: number }>(
        `SELECT status, done, (SELECT count(*)::int FROM "${schema}".tasks t WHERE t.job_seq = j.seq AND t.state = 2) AS rows_done FROM "${schema}".jobs j WHERE id = $1`,
        [job.id],
      );
      expect(rows).toEqual([{ status: 'completed', done: TOTAL, rows_done: TOTAL }]);
    } finally {
      await db.end();
    }
  }, 240_000);
});
