/** Migrations against a real PostgreSQL: several masters starting at once on one fresh schema. */
import { afterAll, expect, it } from 'vitest';
import { jobRecord, owner, stored } from '../contract.ts';
import { openPool } from './connect.ts';
import { migrate, migrations } from './migrate.ts';
import { PgStore } from './pg-store.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

describeWithPg('PostgreSQL migrations', () => {
  it('[D1] three masters migrating one fresh schema at once: each migration runs exactly once, all three start', async () => {
    const schema = testSchema('migrate');
    schemas.push(schema);
    const pools = [0, 1, 2].map(() => openPool({ url: PG_TEST_URL, schema, poolSize: 1 }));
    try {
      const applied = await Promise.all(pools.map((pool) => migrate(pool, schema)));
      const versions = migrations().map((m) => m.version);
      expect(versions.length).toBeGreaterThan(0);
      // One of them applied every version, the others found them there.
      expect(applied.map((a) => a.length).sort()).toEqual([0, 0, versions.length]);
      expect(applied.flat().sort((a, b) => a - b)).toEqual(versions);
      const { rows } = await pools[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(versions);
      // Starting again applies nothing.
      expect(await migrate(pools[1]!, schema)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('[D1] three PgStores opened at once on one fresh schema all work on the same tables', async () => {
    const schema = testSchema('open3');
    schemas.push(schema);
    const stores = await Promise.all([0, 1, 2].map(() => PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 })));
    try {
      const job = jobRecord({ total: 2 });
      await stores[0]!.insertJob(job, ['a', 'b']);
      for (const s of stores) expect(await s.getJob(job.id)).toEqual(stored(job));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('[D1] a database made before result validation and the cluster upgrades in place: its jobs read back unvalidated, claimable', async () => {
    const schema = testSchema('upgrade');
    schemas.push(schema);
    const pool = openPool({ url: PG_TEST_URL, schema, poolSize: 1 });
    const job = jobRecord({ total: 1 });
    try {
      await migrate(pool, schema, migrations().filter((m) => m.version <= 2));
      await pool.query(
        `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [job.id, job.name, job.code, job.priority, job.timeoutMs, job.maxAttempts, job.maxLosses, job.status, job.total, job.createdAt],
      );
      await pool.query("INSERT INTO tasks (job_seq, idx, input) SELECT seq, 0, '7' FROM jobs");
    } finally {
      await pool.end();
    }
    const store = await PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 });
    try {
      expect(await store.getJob(job.id)).toEqual(stored(job));
      expect(await store.activeJobs()).toMatchObject([{ id: job.id, status: 'queued', fin: 0 }]);
      expect(await store.claimTasks(job.id, owner('m'), 5)).toEqual([{ index: 0, input: 7, failures: 0, losses: 0, error: null }]);
      expect((await store.commit({ owner: owner('m'), tasks: [{ kind: 'done', job: job.id, index: 0, output: 8, failures: 0, losses: 0 }], jobs: [], attempts: [] })).jobs).toMatchObject([
        { status: 'completed', done: 1, fin: 1 },
      ]);
      expect((await store.taskDetail(job.id, 0))!.replicas).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('[D1][K6] a database made before runs of final tasks upgrades in place: its results read back in their order, new ones follow on', async () => {
    const schema = testSchema('finals');
    schemas.push(schema);
    const pool = openPool({ url: PG_TEST_URL, schema, poolSize: 1 });
    const job = jobRecord({ total: 5 });
    const long = jobRecord({ total: 9000 });
    try {
      await migrate(pool, schema, migrations().filter((m) => m.version <= 8));
      // A job of 9,000 final tasks, numbered in reverse index order: more than one run of 8,192.
      await pool.query(
        `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, created_at, started_at, finished_at, done, fin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'completed', $8::int, $9::bigint, $9::bigint, $9::bigint, $8::int, $8::int)`,
        [long.id, long.name, long.code, long.priority, long.timeoutMs, long.maxAttempts, long.maxLosses, long.total, long.createdAt],
      );
      await pool.query(`INSERT INTO tasks (job_seq, idx, input, state, output, fin) SELECT seq, i, i::text, 2, i::text, 9000 - i FROM jobs, generate_series(0, 8999) AS i WHERE id = $1`, [long.id]);
      await pool.query(
        `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, created_at, started_at, done, fin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9, $9, 2, 3)`,
        [job.id, job.name, job.code, job.priority, job.timeoutMs, job.maxAttempts, job.maxLosses, job.total, job.createdAt],
      );
      // As version 8 numbered them: index 3 made final first, index 2 second (it failed, and was retried since:
      // pending again, its number gone), index 1 third.
      await pool.query(
        `INSERT INTO tasks (job_seq, idx, input, state, output, fin)
         SELECT seq, i, i::text, CASE WHEN i IN (1, 3) THEN 2 ELSE 0 END, CASE WHEN i IN (1, 3) THEN (i * 10)::text END, CASE i WHEN 3 THEN 1 WHEN 1 THEN 3 END
         FROM jobs, generate_series(0, 4) AS i WHERE id = $1`,
        [job.id],
      );
    } finally {
      await pool.end();
    }
    const store = await PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 });
    try {
      expect(await store.resultsSince(job.id, 0, 10)).toEqual([
        { index: 3, status: 'done', output: 30, fin: 1 },
        { index: 1, status: 'done', output: 10, fin: 3 },
      ]);
      expect((await store.resultsSince(job.id, 0, 1)).map((r) => r.fin)).toEqual([1]);
      expect((await store.resultsSince(job.id, 1, 1)).map((r) => r.fin)).toEqual([3]);
      expect((await store.claimTasks(job.id, owner('m'), 5)).map((t) => t.index)).toEqual([0, 2, 4]);
      expect((await store.resultsSince(long.id, 8189, 5)).map((r) => [r.fin, r.index])).toEqual([8190, 8191, 8192, 8193, 8194].map((f) => [f, 9000 - f]));
      expect((await store.resultsSince(long.id, 0, 20_000)).map((r) => r.index)).toEqual(Array.from({ length: 9000 }, (_, k) => 8999 - k));
      await store.commit({ owner: owner('m'), tasks: [{ kind: 'done', job: job.id, index: 2, output: 20, failures: 0, losses: 0 }], jobs: [], attempts: [] });
      expect(await store.resultsSince(job.id, 1, 10)).toEqual([
        { index: 1, status: 'done', output: 10, fin: 3 },
        { index: 2, status: 'done', output: 20, fin: 4 },
      ]);
      const { rows } = await store.pool.query<{ fin_index: string | null; options: string[] | null; fin_column: number }>(
        `SELECT to_regclass('tasks_fin')::text AS fin_index, (SELECT reloptions FROM pg_class WHERE oid = 'tasks'::regclass) AS options,
                (SELECT count(*)::int FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'tasks' AND column_name = 'fin') AS fin_column`,
      );
      expect(rows[0]!.fin_index).toBeNull();
      expect(rows[0]!.fin_column).toBe(0);
      expect(rows[0]!.options).toContain('fillfactor=30');
    } finally {
      await store.close();
    }
  });

  it('[D1] a migration that fails leaves its version unrecorded and nothing half-made', async () => {
    const schema = testSchema('migfail');
    schemas.push(schema);
    const pool = openPool({ url: PG_TEST_URL, schema, poolSize: 1 });
    try {
      const bad = [
        { version: 1, name: '001_ok', sql: 'CREATE TABLE a (x int)' },
        { version: 2, name: '002_bad', sql: 'CREATE TABLE b (x int); SELECT no_such_column FROM a' },
      ];
      await expect(migrate(pool, schema, bad)).rejects.toThrow(/002_bad/);
      const { rows } = await pool.query<{ version: number }>('SELECT version FROM schema_migrations');
      expect(rows.map((r) => r.version)).toEqual([1]);
      const tables = await pool.query<{ t: string | null }>("SELECT to_regclass('b')::text AS t");
      expect(tables.rows[0]!.t).toBeNull();
    } finally {
      await pool.end();
    }
  });
});
