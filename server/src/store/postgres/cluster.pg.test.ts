/**
 * Several masters on one PostgreSQL at once (SPEC.md K), each a PgStore with its own pool on one schema:
 * concurrent claims never overlap, fenced commits take effect only for the holder, final tasks are numbered
 * gapless in commit order, one sweep runs at a time, a cancel leaves no claim behind. Every loop is bounded
 * in count, and each test in time.
 */
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { done, failed, jobRecord, owner } from '../contract.ts';
import type { MasterStats, Owner, TaskWrite } from '../store.ts';
import { PgStore, SWEEP_LOCK_CLASS } from './pg-store.ts';
import { applyCommit } from './commit.ts';
import { MAX_RUN } from './fins.ts';
import { inTransaction, type Queryable } from './connect.ts';
import { lockJobs } from './sql/jobs.ts';
import { holderOf } from './sql/claims.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** `n` stores (masters) on one fresh schema. */
async function masters(n: number, poolSize = 3): Promise<PgStore[]> {
  const schema = testSchema('cluster');
  schemas.push(schema);
  const first = await PgStore.open({ url: PG_TEST_URL, schema, poolSize });
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => PgStore.open({ url: PG_TEST_URL, schema, poolSize })));
  return [first, ...rest];
}

const closeAll = (stores: PgStore[]) => Promise.all(stores.map((s) => s.close()));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const stats: MasterStats = { volunteers: 0, threads: 0, tasksPerSecond: 0, tasksDone: 0, leased: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Task rows as the database has them now. */
async function taskRows(store: PgStore, jobId: string): Promise<Array<{ idx: number; state: number; owner: string | null; output: string | null }>> {
  // owner: who holds the task, one by one or in a range (sql/claims.ts).
  const { rows } = await store.pool.query(`SELECT t.idx, t.state, ${holderOf('t')} AS owner, t.output FROM tasks t JOIN jobs j ON j.seq = t.job_seq WHERE j.id = $1 ORDER BY t.idx`, [jobId]);
  return rows;
}

/**
 * `client` for `applyCommit`, held right after the commit's final task writes (before it locks its jobs to
 * number them) until `release()`; `held` resolves when it gets there.
 */
function holdAfterTaskWrites(client: pg.PoolClient): { gated: Queryable; held: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let atGate!: () => void;
  const held = new Promise<void>((r) => (atGate = r));
  const query = async (config: pg.QueryConfig) => {
    const result = await client.query(config);
    if (config.name === 'barnraise.finishTasks') {
      atGate();
      await gate;
    }
    return result;
  };
  return { gated: { query: query as unknown as Queryable['query'] }, held, release };
}

/**
 * Two masters on a 4-task job: A holds tasks 0 and 1 (and B 2 and 3 when `bClaims`), and a client of A's pool
 * gated right after its commit's task writes (holdAfterTaskWrites): A's commit in a transaction of its own,
 * held before it numbers them.
 */
async function heldCommitSetup(bClaims: boolean) {
  const [a, b] = await masters(2);
  const job = jobRecord({ total: 4 });
  await a!.insertJob(job, range(4));
  expect((await a!.claimTasks(job.id, owner('a'), 2)).map((t) => t.index)).toEqual([0, 1]);
  if (bClaims) expect((await b!.claimTasks(job.id, owner('b'), 2)).map((t) => t.index)).toEqual([2, 3]);
  const seq = (await a!.pool.query<{ seq: number }>('SELECT seq FROM jobs WHERE id = $1', [job.id])).rows[0]!.seq;
  const client = await a!.pool.connect();
  return { a: a!, b: b!, job, seq, client, ...holdAfterTaskWrites(client) };
}

describeWithPg('PgStore, several masters at once', () => {
  it('[K1] three masters claiming and releasing one job at once never hold the same task', async () => {
    const stores = await masters(3);
    const total = 3000;
    const job = jobRecord({ total });
    await stores[0]!.insertJob(job, range(total));
    /** index -> who holds it, as the claimers see it: a claim of an index someone holds is a double claim. */
    const holder = new Map<number, string>();
    const doubles: string[] = [];
    let calls = 0;
    const claimer = async (store: PgStore, who: Owner, k: number) => {
      for (let round = 0; round < 400; round++) {
        calls++;
        const got = await store.claimTasks(job.id, who, 37);
        if (got.length === 0) return;
        for (const t of got) {
          const prior = holder.get(t.index);
          if (prior !== undefined) doubles.push(`${t.index}: ${prior} and ${who.master}`);
          holder.set(t.index, who.master);
        }
        // Now and then give a few back (forgotten here first, so a quick re-claim is no false alarm).
        if ((round + k) % 4 === 0) {
          const back = got.slice(0, 5).map((t) => t.index);
          for (const i of back) holder.delete(i);
          expect(await store.releaseTasks(job.id, who, back)).toBe(back.length);
        }
      }
    };
    // Two claimers per master (its pool holds several connections), six at once.
    await Promise.all(stores.flatMap((s, m) => [claimer(s, owner(`m${m}`), 0), claimer(s, owner(`m${m}`), 1)]));
    expect(doubles).toEqual([]);
    expect(holder.size).toBe(total);
    expect(calls).toBeGreaterThan(total / 37);
    const rows = await taskRows(stores[0]!, job.id);
    expect(rows.map((r) => r.owner)).toEqual(range(total).map((i) => holder.get(i)));
    await closeAll(stores);
  }, 60_000);

  it('[K1] claims take the tasks given back first, then fresh ranges, which write no task row', async () => {
    const [s, t] = await masters(2, 2);
    const job = jobRecord({ total: 40 });
    await s!.insertJob(job, range(40));
    const claim = async (store: PgStore, who: string, n: number) => (await store.claimTasks(job.id, owner(who), n)).map((x) => x.index);
    const written = async () => Number((await s!.pool.query('SELECT count(*) AS n FROM tasks WHERE owner IS NOT NULL OR gen IS NOT NULL')).rows[0].n);
    expect(await claim(s!, 's', 10)).toEqual(range(10));
    expect(await written(), 'a range claim leaves its task rows as they were').toBe(0);
    await s!.releaseTasks(job.id, owner('s'), [3]);
    expect(await claim(t!, 't', 5)).toEqual([3, 10, 11, 12, 13]);
    // Freed with t's claims (its range and the task it took one by one): taken first, lowest index first.
    await s!.releaseClaims('t');
    expect(await claim(s!, 's', 4)).toEqual([3, 10, 11, 12]);
    // Failed and reset: handled one by one too.
    await s!.commit({ owner: owner('s'), tasks: [failed(job.id, 0), failed(job.id, 1), done(job.id, 2)], jobs: [], attempts: [] });
    expect(await s!.resetFailed(job.id)).toBe(2);
    expect(await claim(s!, 's', 3)).toEqual([0, 1, 13]);
    // The rest, in one range; then nothing is left for anyone.
    expect(await claim(s!, 's', 100)).toEqual(range(26).map((i) => 14 + i));
    expect(await claim(t!, 't', 5)).toEqual([]);
    // Each task is held by s, once, one by one or in a range.
    expect((await taskRows(s!, job.id)).filter((r) => r.state === 0).map((r) => r.owner)).toEqual(range(39).map(() => 's'));
    await closeAll([s!, t!]);
  });

  it('[K4] two masters committing fenced writes for the same tasks at once: only the holder\'s take effect', async () => {
    const [a, b] = await masters(2);
    const total = 400;
    const job = jobRecord({ total });
    await a!.insertJob(job, range(total));
    const [heldA, heldB] = [await a!.claimTasks(job.id, owner('a'), 200), await b!.claimTasks(job.id, owner('b'), 200)];
    expect(heldA.map((t) => t.index)).toEqual(range(200));
    expect(heldB.map((t) => t.index)).toEqual(range(200).map((i) => 200 + i));
    /** Each master writes every task, in batches of 50: its own output, in its own order. */
    const writer = async (store: PgStore, who: Owner, order: number[]) => {
      const applied: number[] = [];
      for (let k = 0; k < order.length; k += 50) {
        const tasks = order.slice(k, k + 50).map((i) => done(job.id, i, `${who.master}${who.gen}:${i}`));
        const receipt = await store.commit({ owner: who, tasks, jobs: [], attempts: [] });
        tasks.forEach((t, j) => receipt.applied[j] && applied.push(t.index));
      }
      return applied.sort((x, y) => x - y);
    };
    const [byA, byB, byStaleA] = await Promise.all([writer(a!, owner('a'), range(total)), writer(b!, owner('b'), range(total).reverse()), writer(b!, owner('a', 0), range(total))]);
    expect(byA).toEqual(range(200));
    expect(byB).toEqual(range(200).map((i) => 200 + i));
    expect(byStaleA).toEqual([]);
    const rows = await taskRows(a!, job.id);
    expect(rows.map((r) => r.output)).toEqual(range(total).map((i) => JSON.stringify(`${i < 200 ? 'a' : 'b'}1:${i}`)));
    expect(rows.every((r) => r.owner === null)).toBe(true);
    expect(await a!.getJob(job.id)).toMatchObject({ status: 'completed', done: total, failed: 0, fin: total });
    await closeAll([a!, b!]);
  }, 60_000);

  it('[K6] a commit of more results than a run holds writes several runs, and a follower reads across them in order', async () => {
    const [a] = await masters(1);
    const total = MAX_RUN + 808;
    const job = jobRecord({ total });
    await a!.insertJob(job, range(total));
    // In reverse index order: numbers follow the batch, so number n is index total - n.
    const receipt = await a!.commit({ tasks: range(total).reverse().map((i): TaskWrite => done(job.id, i, i)), jobs: [], attempts: [] });
    expect(receipt.applied.every(Boolean)).toBe(true);
    const runs = await a!.pool.query<{ lo: string; n: number }>('SELECT lo, cardinality(idxs) AS n FROM finals ORDER BY lo');
    expect(runs.rows.map((r) => [Number(r.lo), r.n])).toEqual([
      [0, MAX_RUN],
      [MAX_RUN, 808],
    ]);
    expect((await a!.resultsSince(job.id, MAX_RUN - 2, 4)).map((r) => [r.fin, r.index])).toEqual([MAX_RUN - 1, MAX_RUN, MAX_RUN + 1, MAX_RUN + 2].map((f) => [f, total - f]));
    await closeAll([a!]);
  }, 30_000);

  it("[K6] two masters' commits on one job go side by side: one's task writes do not wait for the other's commit; runs follow the job lock's order", async () => {
    const { a, b, job, seq, client, gated, held, release } = await heldCommitSetup(true);
    try {
      await client.query('BEGIN');
      const commitA = applyCommit(gated, (id) => (id === job.id ? seq : undefined), { owner: owner('a'), tasks: [done(job.id, 1, 'a1'), done(job.id, 0, 'a0')], jobs: [], attempts: [] });
      await held;
      // B's whole commit lands while A holds its written rows: before, A held the job's lock from before its writes.
      const commitB = b!.commit({ owner: owner('b'), tasks: [done(job.id, 3, 'b3'), done(job.id, 2, 'b2')], jobs: [], attempts: [] });
      const first = await Promise.race([commitB.then(() => 'b'), sleep(5000).then(() => 'timeout')]);
      release();
      expect(first).toBe('b');
      expect((await commitB).applied).toEqual([true, true]);
      expect((await commitA).applied).toEqual([true, true]);
      await client.query('COMMIT');
    } finally {
      release();
      client.release();
    }
    expect((await b!.resultsSince(job.id, 0, 10)).map((r) => [r.index, r.fin])).toEqual([
      [3, 1],
      [2, 2],
      [1, 3],
      [0, 4],
    ]);
    expect(await a!.getJob(job.id)).toMatchObject({ status: 'completed', done: 4, fin: 4 });
    await closeAll([a!, b!]);
  }, 30_000);

  it('[J3][K4] a cancel while a commit is between its task writes and its job lock waits for that commit: no deadlock, nothing lost', async () => {
    const { a, b, job, seq, client, gated, held, release } = await heldCommitSetup(false);
    let cancelled: Awaited<ReturnType<PgStore['cancelJob']>>;
    try {
      await client.query('BEGIN');
      const commitA = applyCommit(gated, (id) => (id === job.id ? seq : undefined), { owner: owner('a'), tasks: [done(job.id, 1, 'a1'), done(job.id, 0, 'a0')], jobs: [], attempts: [] });
      await held;
      // The cancel locks the job FOR UPDATE and then frees the job's claims (task rows A wrote): it waits for A.
      const cancel = b!.cancelJob(job.id, Date.now());
      expect(await Promise.race([cancel.then(() => 'cancelled'), sleep(300).then(() => 'waiting')])).toBe('waiting');
      release();
      expect((await commitA).applied).toEqual([true, true]);
      await client.query('COMMIT');
      cancelled = await cancel;
    } finally {
      release();
      client.release();
    }
    expect(cancelled).toMatchObject({ status: 'cancelled', done: 2 });
    expect((await b!.resultsSince(job.id, 0, 10)).map((r) => [r.index, r.fin])).toEqual([
      [1, 1],
      [0, 2],
    ]);
    // Nothing of the job is held any more: the cancel freed what the commit did not end.
    expect((await taskRows(b!, job.id)).map((r) => r.owner)).toEqual([null, null, null, null]);
    await closeAll([a!, b!]);
  }, 30_000);

  it('[K6] final tasks are numbered gapless in commit order while two masters commit at once; a follower misses none', async () => {
    const [a, b, follower] = await masters(3);
    const total = 3000;
    const job = jobRecord({ total });
    await a!.insertJob(job, range(total));
    const writer = async (store: PgStore, who: Owner) => {
      const commits: number[][] = [];
      for (let round = 0; round < 200; round++) {
        const claimed = await store.claimTasks(job.id, who, 60);
        if (claimed.length === 0) break;
        // Two commits per claim, the tasks shuffled: their numbers follow the batch, not the index.
        const order = claimed.map((t) => t.index).sort(() => Math.random() - 0.5);
        for (const part of [order.slice(0, 30), order.slice(30)]) {
          if (part.length === 0) continue;
          const receipt = await store.commit({ owner: who, tasks: part.map((i): TaskWrite => done(job.id, i, i)), jobs: [], attempts: [] });
          expect(receipt.applied.every(Boolean)).toBe(true);
          commits.push(part);
        }
      }
      return commits;
    };
    /** Reads on from its cursor until it has every result; each page must start right after the cursor. */
    const follow = async () => {
      const seen: Array<{ index: number; fin: number }> = [];
      const started = Date.now();
      while (seen.length < total && Date.now() - started < 45_000) {
        const page = await follower!.resultsSince(job.id, seen.length, 250);
        page.forEach((r, k) => expect(r.fin).toBe(seen.length + k + 1));
        seen.push(...page.map((r) => ({ index: r.index, fin: r.fin })));
        if (page.length === 0) await sleep(2);
      }
      return seen;
    };
    const [commitsA, commitsB, seen] = await Promise.all([writer(a!, owner('a')), writer(b!, owner('b')), follow()]);
    expect(seen.map((r) => r.fin)).toEqual(range(total).map((i) => i + 1));
    expect(seen.map((r) => r.index).sort((x, y) => x - y)).toEqual(range(total));
    // Each commit's tasks got consecutive numbers, in the batch's order.
    const finOf = new Map(seen.map((r) => [r.index, r.fin]));
    for (const part of [...commitsA, ...commitsB]) {
      const fins = part.map((i) => finOf.get(i)!);
      expect(fins).toEqual(fins.map((_, k) => fins[0]! + k));
    }
    expect(commitsA.length).toBeGreaterThan(0);
    expect(commitsB.length).toBeGreaterThan(0);
    expect(await a!.getJob(job.id)).toMatchObject({ status: 'completed', done: total, fin: total });
    await closeAll([a!, b!, follower!]);
  }, 60_000);

  it('[K2] one sweep at a time: none while another holds the lock, and of several at once one reports each dead master', async () => {
    const stores = await masters(4, 2);
    const [s] = stores;
    const job = jobRecord({ total: 4 });
    await s!.insertJob(job, range(4));
    for (const m of ['d1', 'd2']) {
      await s!.beat(owner(m), `http://${m}`, stats);
      await s!.claimTasks(job.id, owner(m), 2);
    }
    await sleep(60);
    const other = new pg.Client({ connectionString: PG_TEST_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SWEEP_LOCK_CLASS, s!.schema]);
      expect(await s!.sweep(30)).toEqual([]);
      expect((await taskRows(s!, job.id)).map((r) => r.owner)).toEqual(['d1', 'd1', 'd2', 'd2']);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    const swept = await Promise.all(stores.map((st) => st.sweep(30)));
    expect(swept.flat().sort()).toEqual(['d1', 'd2']);
    expect(swept.filter((ids) => ids.length > 0)).toHaveLength(1);
    expect((await taskRows(s!, job.id)).map((r) => r.owner)).toEqual([null, null, null, null]);
    expect(await s!.liveMasters(60_000)).toEqual([]);
    await closeAll(stores);
  }, 30_000);

  it('[K2] a sweep frees claims of a master without a row (it claimed after a sweep forgot it, then died)', async () => {
    const [s] = await masters(1);
    const job = jobRecord({ total: 3 });
    await s!.insertJob(job, range(3));
    await s!.beat(owner('alive'), 'http://alive', stats);
    await s!.claimTasks(job.id, owner('alive'), 1);
    await s!.claimTasks(job.id, owner('ghost'), 2);
    expect(await s!.sweep(60_000)).toEqual([]);
    expect((await taskRows(s!, job.id)).map((r) => r.owner)).toEqual(['alive', null, null]);
    await s!.close();
  });

  it('[J3][K1] a cancel racing three masters\' claims leaves no claim behind', async () => {
    const stores = await masters(3, 2);
    for (let round = 0; round < 5; round++) {
      const job = jobRecord({ total: 300 });
      await stores[0]!.insertJob(job, range(300));
      const claimer = async (store: PgStore, m: number) => {
        for (let k = 0; k < 100; k++) if ((await store.claimTasks(job.id, owner(`m${m}`), 5)).length === 0) return;
      };
      const cancel = async () => {
        await sleep(round * 3);
        return stores[1]!.cancelJob(job.id, 99);
      };
      const [, , , cancelled] = await Promise.all([...stores.map((s, m) => claimer(s, m)), cancel()]);
      expect(cancelled).toMatchObject({ status: 'cancelled' });
      expect((await taskRows(stores[0]!, job.id)).filter((r) => r.owner !== null)).toEqual([]);
      expect(await stores[2]!.claimTasks(job.id, owner('late'), 5)).toEqual([]);
    }
    await closeAll(stores);
  }, 60_000);

  it('[K4] fenced writes stay key lookups when the statistics predate every claim (a planner trap)', async () => {
    const [s] = await masters(1);
    const total = 40_000;
    const job = jobRecord({ total, validation: { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } });
    await s!.insertJob(job, range(total));
    await s!.pool.query('ANALYZE tasks'); // every owner null, as right after a job is submitted
    for (let k = 0; k < 20; k++) await s!.claimTasks(job.id, owner('m'), 2000);
    // With `owner = $1` in the fence the planner took the (owner, gen) index, expecting one row, and read all
    // 40,000 claims for each write: seconds per commit. As key lookups, tens of milliseconds.
    for (let k = 0; k < 2; k++) {
      const part = range(2000).map((i) => k * 2000 + i);
      const started = performance.now();
      const receipt = await s!.commit({
        owner: owner('m'),
        tasks: [...part.slice(0, 1900).map((i) => done(job.id, i)), ...part.slice(1900).map((i): TaskWrite => ({ kind: 'retry', job: job.id, index: i, failures: 1, losses: 0, error: 'e' }))],
        jobs: [],
        attempts: [],
        replicas: part.slice(0, 200).map((i) => ({ job: job.id, index: i, attempt: `v${i}`, identity: 'i', network: 'n', kind: 'vote' as const, ok: true, hash: 'h', output: i, error: null, at: 1, verdict: 'pending' as const })),
        verdicts: part.slice(0, 200).map((i) => ({ job: job.id, index: i, attempt: `v${i}`, verdict: 'accepted' as const })),
      });
      const ms = performance.now() - started;
      expect(receipt.applied.every(Boolean) && receipt.votes.every(Boolean)).toBe(true);
      expect(ms).toBeLessThan(1500);
    }
    await s!.close();
  }, 60_000);

  it('[K4] a master cut off inside a commit does not block the others for long: the server ends its session', async () => {
    const [healthy] = await masters(1);
    const cutOff = await PgStore.open({ url: PG_TEST_URL, schema: healthy!.schema, poolSize: 1, idleInTransactionMs: 300 });
    const job = jobRecord({ total: 1 });
    await healthy!.insertJob(job, [0]);
    // The cut-off master got as far as locking the job row, and says nothing more.
    const client = await cutOff.pool.connect();
    const errors: Error[] = [];
    client.on('error', (err) => errors.push(err));
    await client.query('BEGIN');
    const [{ seq }] = (await client.query<{ seq: number }>('SELECT seq FROM jobs WHERE id = $1', [job.id])).rows as [{ seq: number }];
    await lockJobs(client, [seq]);
    const started = Date.now();
    const receipt = await healthy!.commit({ tasks: [done(job.id, 0)], jobs: [], attempts: [] });
    const waited = Date.now() - started;
    expect(receipt.applied).toEqual([true]);
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(5000);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    // A store transaction whose session ends between two statements fails; the process goes on.
    await expect(
      inTransaction(cutOff.pool, async (c) => {
        await c.query('SELECT 1');
        await sleep(800);
        await c.query('SELECT 1');
      }),
    ).rejects.toThrow();
    expect(await cutOff.getJob(job.id)).toMatchObject({ status: 'completed' });
    await cutOff.close();
    await healthy!.close();
  }, 20_000);
  it('[K7] a job submitted, cancelled or retried on one master is told to the others at once; another schema is not heard; a cut listener comes back', async () => {
    const [a, b] = await masters(2, 2);
    const other = await PgStore.open({ url: PG_TEST_URL, schema: testSchema('cluster_other'), poolSize: 1 });
    schemas.push(other.schema);
    let heard = 0;
    const watch = b!.watchJobs(() => heard++);
    await watch.ready;
    const hears = async (what: string, before: number) => {
      for (let k = 0; k < 100 && heard === before; k++) await sleep(20);
      expect(heard, what).toBeGreaterThan(before);
    };
    const job = jobRecord({ total: 2 });
    let before = heard;
    await a!.insertJob(job, [0, 1]);
    await hears('a submit on A', before);
    // Another deployment in the same database: its jobs are not this schema's.
    before = heard;
    await other.insertJob(jobRecord({ total: 1 }), [0]);
    await sleep(300);
    expect(heard, 'a job of another schema').toBe(before);
    before = heard;
    await a!.commit({ tasks: [failed(job.id, 0)], attempts: [], jobs: [] });
    await sleep(300);
    expect(heard, 'a commit of results tells nothing (it is the hot path)').toBe(before);
    await a!.resetFailed(job.id);
    await hears('a retry of failed tasks on A', before);
    // The listening connection cut (a restart, a proxy): it connects again and says so, since what was
    // told meanwhile is lost.
    const pid = watch.pid!;
    expect(pid).toBeGreaterThan(0);
    before = heard;
    await a!.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await hears('back after the cut', before);
    for (let k = 0; k < 100 && (watch.pid === undefined || watch.pid === pid); k++) await sleep(20);
    expect(watch.pid).not.toBe(pid);
    before = heard;
    await a!.cancelJob(job.id, 5);
    await hears('a cancel on A, heard on the new connection', before);
    await watch.close();
    before = heard;
    await a!.insertJob(jobRecord({ total: 1 }), [0]);
    await sleep(300);
    expect(heard, 'nothing after close').toBe(before);
    await closeAll([a!, b!, other]);
  }, 30_000);
});
