/**
 * The PostgreSQL store beside SQLite, in this process, no HTTP: ingest of a million small inputs, and group
 * commits of 2,000 task writes (each with its attempt row, as the writer sends them). Not part of
 * `pnpm bench` yet; run it alone:
 *   node --import tsx bench/src/pg-store.ts [postgres://postgres@127.0.0.1:5432/test]
 * It works in a schema of its own and drops it. Figures are in docs/postgres.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PgStore } from '../../server/src/store/postgres/pg-store.ts';
import { SqliteStore } from '../../server/src/store/sqlite/store.ts';
import type { CommitBatch, JobRecord, Store } from '../../server/src/store/store.ts';

const URL = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
const INGEST = 1_000_000;
const BATCH = 2000;
const COMMITS = 100;

function record(id: string, total: number): JobRecord {
  return { id, name: id, code: 'export default (x) => x', priority: 0, timeoutMs: 1000, maxAttempts: 3, maxLosses: 8, total, createdAt: 1, status: 'queued', done: 0, failed: 0, requeues: 0, startedAt: null, finishedAt: null };
}

function batch(job: string, from: number, n: number): CommitBatch {
  const b: CommitBatch = { tasks: [], jobs: [], attempts: [] };
  for (let i = from; i < from + n; i++) {
    b.tasks.push({ kind: 'done', job, index: i, output: { n: i, sq: i * i }, failures: 0, losses: 0 });
    b.attempts.push({ job, index: i, attempt: `boot.${i.toString(36)}`, volunteer: 'v_bench', leasedAt: 1000 + i, endedAt: 2000 + i, end: 'done', error: null });
  }
  b.jobs.push({ id: job, status: 'running', done: from + n, failed: 0, requeues: 0, startedAt: 1, finishedAt: null });
  return b;
}

async function measure(name: string, store: Store): Promise<void> {
  const inputs = Array.from({ length: INGEST }, (_, i) => ({ n: i }));
  let t0 = performance.now();
  await store.insertJob(record('ingest', INGEST), inputs);
  const ingestMs = performance.now() - t0;

  const total = BATCH * COMMITS;
  await store.insertJob(record('commits', total), Array.from({ length: total }, (_, i) => i));
  const batches = Array.from({ length: COMMITS }, (_, k) => batch('commits', k * BATCH, BATCH));
  t0 = performance.now();
  for (const b of batches) await store.commit(b);
  const commitMs = performance.now() - t0;
  // The same batches again: every final write is refused (E1), the cost of a batch of duplicates.
  t0 = performance.now();
  for (const b of batches.slice(0, 20)) await store.commit(b);
  const dupMs = performance.now() - t0;
  console.log(
    `${name.padEnd(8)} ingest ${INGEST} inputs: ${ingestMs.toFixed(0)} ms | ${COMMITS} commits of ${BATCH} writes (+${BATCH} attempt rows): ` +
      `${((COMMITS * 1000) / commitMs).toFixed(1)} commits/s, ${((total * 1000) / commitMs / 1000).toFixed(1)}k writes/s | refused duplicates: ${((20 * 1000) / dupMs).toFixed(1)} commits/s`,
  );
}

const schema = `bench_${process.pid}`;
const pgStore = await PgStore.open({ url: URL, schema });
try {
  await measure('postgres', pgStore);
} finally {
  await pgStore.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pgStore.close();
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-bench-pg-'));
try {
  const sqlite = new SqliteStore({ file: path.join(dir, 'bench.db') });
  await measure('sqlite', sqlite);
  await sqlite.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
