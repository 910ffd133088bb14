/**
 * [S5] Idempotency keys in PostgreSQL: two masters (two apps, each with its own PgStore and pool, on one
 * schema) sent the same key at the same moment make one job.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, expect, it } from 'vitest';
import type { JobSummary } from '@barnraise/shared';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { pgIdempotencyKeys } from './idempotency.ts';
import { PgStore } from './pg-store.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));
const token = 'idempotency-test-token';

async function master(schema: string): Promise<{ app: FastifyInstance; url: string; store: PgStore }> {
  const store = await PgStore.open({ url: PG_TEST_URL, schema, poolSize: 4 });
  const config = loadConfig({}, { dataDir: '/nonexistent-unused', port: 0, host: '127.0.0.1', logLevel: 'warn', databaseUrl: PG_TEST_URL, databaseSchema: schema });
  const app = await buildApp({ config, store, token, logger: false, idempotency: pgIdempotencyKeys(store.pool) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, store, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

describeWithPg('[S5] Idempotency-Key on PostgreSQL', () => {
  it('reservations of one key from two pools at the same moment have one winner, every time', async () => {
    const schema = testSchema('idem');
    schemas.push(schema);
    const [a, b] = await Promise.all([PgStore.open({ url: PG_TEST_URL, schema }), PgStore.open({ url: PG_TEST_URL, schema })]);
    try {
      const keysA = pgIdempotencyKeys(a!.pool);
      const keysB = pgIdempotencyKeys(b!.pool);
      for (let k = 0; k < 50; k++) {
        const [ra, rb] = await Promise.all([keysA.reserve(`k${k}`, { jobId: `a${k}`, bodySha256: 'h' }, 1), keysB.reserve(`k${k}`, { jobId: `b${k}`, bodySha256: 'h' }, 1)]);
        expect(ra).toEqual(rb);
        expect(await keysA.get(`k${k}`)).toEqual(ra);
      }
      expect(await keysA.purgeBefore(2)).toBe(50);
      expect(await keysB.get('k0')).toBeUndefined();
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it('two masters sent the same key and body at the same moment answer with one job', async () => {
    const schema = testSchema('idem2');
    schemas.push(schema);
    const masters = await Promise.all([master(schema), master(schema)]);
    try {
      const ids: string[] = [];
      let replayed = 0;
      for (let k = 0; k < 10; k++) {
        const body = JSON.stringify({ name: `keyed ${k}`, code: 'export default (x) => x', inputs: Array.from({ length: 2000 }, (_, i) => i) });
        const answers = await Promise.all(
          masters.map((m) => fetch(`${m.url}/api/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `same-${k}` }, body })),
        );
        expect(answers.map((r) => r.status)).toEqual([201, 201]);
        const [first, second] = (await Promise.all(answers.map((r) => r.json()))) as JobSummary[];
        expect(second!.id).toBe(first!.id);
        replayed += answers.filter((r) => r.headers.get('idempotent-replayed') === 'true').length;
        ids.push(first!.id);
        const { rows } = await masters[0]!.store.pool.query<{ key: string; job_id: string; body_sha256: string }>('SELECT key, job_id, body_sha256 FROM idempotency_keys WHERE key = $1', [`same-${k}`]);
        expect(rows).toEqual([{ key: `same-${k}`, job_id: first!.id, body_sha256: createHash('sha256').update(body).digest('hex') }]);
      }
      // One made the job and one was told it was a replay, for every key.
      expect(replayed).toBe(10);
      const { rows } = await masters[0]!.store.pool.query<{ id: string; tasks: number }>('SELECT id, (SELECT count(*)::int FROM tasks WHERE job_seq = jobs.seq) AS tasks FROM jobs ORDER BY seq');
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(rows.every((r) => r.tasks === 2000)).toBe(true);
      // The same key with another body is refused on either master.
      const other = await fetch(`${masters[1]!.url}/api/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'same-0' },
        body: JSON.stringify({ code: 'export default (x) => x', inputs: [1] }),
      });
      expect(other.status).toBe(422);
    } finally {
      for (const m of masters) {
        m.app.draining = true;
        await m.app.scheduler.drain();
        await m.app.close();
        await m.store.close();
      }
    }
  });
});
