/**
 * The PostgreSQL store beside SQLite, in this process, no HTTP: ingest of a million small inputs, claims in
 * batches of 500, group commits of 2,000 fenced done writes (each with its attempt row, as the writer sends
 * them), and the same with three masters (three stores, three pools) at once on one PostgreSQL. Not part of
 * `pnpm bench`; run it alone:
 *   node --import tsx bench/src/pg-store.ts [postgres://postgres@127.0.0.1:5432/test]
 * It works in a schema of its own and drops it. Figures are in docs/postgres.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PgStore } from '../../server/src/store/postgres/pg-store.ts';
import { SqliteStore } from '../../server/src/store/sqlite/store.ts';
import type { CommitBatch, JobRecord, Owner, Store } from '../../server/src/store/store.ts';

const URL = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
const INGEST = 1_000_000;
const CLAIM = 500;
const BATCH = 2000;
const COMMITS = 100;
const TOTAL = BATCH * COMMITS;

function record(id: string, total: number): JobRecord {
  return { id, name: id, code: 'export default (x) => x', priority: 0, timeoutMs: 1000, maxAttempts: 3, maxLosses: 8, total, createdAt: 1, status: 'queued', done: 0, failed: 0, requeues: 0, startedAt: null, finishedAt: null };
}

function batch(job: string, owner: Owner, indexes: readonly number[]): CommitBatch {
  const b: CommitBatch = { owner, at: 5, tasks: [], jobs: [{ id: job, requeues: 0, replicas: 0, inconclusive: 0, startedAt: 1 }], attempts: [] };
  for (const i of indexes) {
    b.tasks.push({ kind: 'done', job, index: i, output: { n: i, sq: i * i }, failures: 0, losses: 0 });
    b.attempts.push({ job, index: i, attempt: `${owner.master}.${i.toString(36)}`, volunteer: 'v_bench', leasedAt: 1000 + i, endedAt: 2000 + i, end: 'done', error: null });
  }
  return b;
}

/** Claim every task of `job` in batches of CLAIM; returns the indexes claimed and the time taken. */
async function claimAll(store: Store, job: string, owner: Owner): Promise<{ indexes: number[]; ms: number; claims: number; each: number[] }> {
  const indexes: number[] = [];
  const each: number[] = [];
  const t0 = performance.now();
  for (let k = 0; k < TOTAL / CLAIM + 10; k++) {
    const t = performance.now();
    const got = await store.claimTasks(job, owner, CLAIM);
    if (got.length === 0) break;
    each.push(performance.now() - t);
    for (const t of got) indexes.push(t.index);
  }
  return { indexes, ms: performance.now() - t0, claims: each.length, each };
}

/** Mean ms of the first and of the last 50 claims: the claimable index fills with dead entries as a job goes. */
const firstLast = (each: number[]) => {
  const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1);
  return `first 50 ${mean(each.slice(0, 50))} ms, last 50 ${mean(each.slice(-50))} ms`;
};

/** Commit `indexes` in batches of BATCH fenced by `owner`; returns the time taken and the writes that took effect. */
async function commitAll(store: Store, job: string, owner: Owner, indexes: readonly number[]): Promise<{ ms: number; commits: number; applied: number }> {
  const batches: CommitBatch[] = [];
  for (let k = 0; k < indexes.length; k += BATCH) batches.push(batch(job, owner, indexes.slice(k, k + BATCH)));
  let applied = 0;
  const t0 = performance.now();
  for (const b of batches) applied += (await store.commit(b)).applied.filter(Boolean).length;
  return { ms: performance.now() - t0, commits: batches.length, applied };
}

const rate = (n: number, ms: number) => ((n * 1000) / ms).toFixed(1);

async function single(name: string, store: Store): Promise<void> {
  const inputs = Array.from({ length: INGEST }, (_, i) => ({ n: i }));
  let t0 = performance.now();
  await store.insertJob(record('ingest', INGEST), inputs);
  const ingestMs = performance.now() - t0;

  const me: Owner = { master: 'm_bench', gen: 1 };
  await store.insertJob(record('work', TOTAL), Array.from({ length: TOTAL }, (_, i) => i));
  // As the tests found it: a table without statistics gets poor plans (PgStore analyzes in the background).
  if (store instanceof PgStore) await store.pool.query('ANALYZE tasks');
  const claimed = await claimAll(store, 'work', me);
  const committed = await commitAll(store, 'work', me, claimed.indexes);
  if (committed.applied !== TOTAL) throw new Error(`${name}: ${committed.applied} of ${TOTAL} writes took effect`);
  // The first 20 batches again: every final write is refused (E1), the cost of a batch of duplicates.
  t0 = performance.now();
  const dup = await commitAll(store, 'work', me, claimed.indexes.slice(0, 20 * BATCH));
  if (dup.applied !== 0) throw new Error(`${name}: a duplicate took effect`);
  console.log(
    `${name.padEnd(8)} ingest ${INGEST}: ${ingestMs.toFixed(0)} ms | ${claimed.claims} claims of ${CLAIM}: ${rate(claimed.claims, claimed.ms)} claims/s ` +
      `(${firstLast(claimed.each)}) | ${committed.commits} fenced commits of ${BATCH} done (+${BATCH} attempt rows): ` +
      `${rate(committed.commits, committed.ms)} commits/s, ${(TOTAL / committed.ms).toFixed(1)}k writes/s | refused duplicates: ${rate(dup.commits, dup.ms)} commits/s`,
  );
}

/** Three masters, each with its own pool, claiming and committing on one job (or one job each) at once. */
async function cluster(stores: PgStore[], shared: boolean): Promise<void> {
  const jobs = shared ? ['shared'] : stores.map((_, m) => `own${m}`);
  const perJob = shared ? TOTAL : Math.floor(TOTAL / stores.length);
  const total = shared ? TOTAL : perJob * stores.length;
  for (const id of jobs) await stores[0]!.insertJob(record(id, perJob), Array.from({ length: perJob }, (_, i) => i));
  await stores[0]!.pool.query('ANALYZE tasks');
  const t0 = performance.now();
  const claims = await Promise.all(stores.map((s, m) => claimAll(s, jobs[shared ? 0 : m]!, { master: `m${m}`, gen: 1 })));
  const claimMs = performance.now() - t0;
  const t1 = performance.now();
  const commits = await Promise.all(stores.map((s, m) => commitAll(s, jobs[shared ? 0 : m]!, { master: `m${m}`, gen: 1 }, claims[m]!.indexes)));
  const commitMs = performance.now() - t1;
  const nClaims = claims.reduce((n, c) => n + c.claims, 0);
  const nCommits = commits.reduce((n, c) => n + c.commits, 0);
  const applied = commits.reduce((n, c) => n + c.applied, 0);
  if (applied !== total) throw new Error(`cluster: ${applied} of ${total} writes took effect`);
  console.log(
    `3 masters, ${shared ? 'one job' : 'a job each'}: ${nClaims} claims of ${CLAIM}: ${rate(nClaims, claimMs)} claims/s | ` +
      `${nCommits} fenced commits of up to ${BATCH}: ${rate(nCommits, commitMs)} commits/s, ${(total / commitMs).toFixed(1)}k writes/s`,
  );
}

const schema = `bench_${process.pid}`;
const pgStore = await PgStore.open({ url: URL, schema });
try {
  await single('postgres', pgStore);
  const more = await Promise.all([0, 1].map(() => PgStore.open({ url: URL, schema })));
  try {
    await cluster([pgStore, ...more], true);
    await cluster([pgStore, ...more], false);
  } finally {
    await Promise.all(more.map((s) => s.close()));
  }
} finally {
  await pgStore.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pgStore.close();
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-bench-pg-'));
try {
  const sqlite = new SqliteStore({ file: path.join(dir, 'bench.db') });
  await single('sqlite', sqlite);
  await sqlite.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
