import { PgStore } from '/work/wt-pg/server/src/store/postgres/pg-store.ts';
import { columns, foldTaskWrites } from '/work/wt-pg/server/src/store/postgres/batch.ts';
const store = await PgStore.open({ url: 'postgres://postgres@127.0.0.1:5432/test', schema: 'explain_m' });
const total = 200_000;
const rec = { id: 'j', name: 'j', code: 'x', priority: 0, timeoutMs: 1, maxAttempts: 3, maxLosses: 8, total, createdAt: 1, status: 'queued' as const, done: 0, failed: 0, requeues: 0, startedAt: null, finishedAt: null };
await store.pool.query('DELETE FROM jobs; DELETE FROM tasks; DELETE FROM attempts');
await store.insertJob(rec, Array.from({ length: total }, (_, i) => i));
if (process.argv[2] === 'analyze') await store.pool.query('ANALYZE tasks');
const c = await store.pool.connect();
const tasks = Array.from({ length: 2000 }, (_, i) => ({ kind: 'done' as const, job: 'j', index: i * 50, output: { n: i }, failures: 0, losses: 0 }));
const f = foldTaskWrites(tasks, () => 1, (s) => s);
const w = columns(f.done);
const variants: Record<string, string> = {
  redundantAny: `UPDATE tasks AS t SET state = 2, output = w.output, error = COALESCE(w.error, t.error), failures = w.failures, losses = w.losses
           FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::smallint[], $6::smallint[]) AS w(job_seq, idx, output, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0 AND t.job_seq = ANY($1::int[]) AND t.idx = ANY($2::int[])
           RETURNING t.job_seq, t.idx`,
  plain: `UPDATE tasks AS t SET state = 2, output = w.output, error = COALESCE(w.error, t.error), failures = w.failures, losses = w.losses
           FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::smallint[], $6::smallint[]) AS w(job_seq, idx, output, error, failures, losses)
           WHERE t.job_seq = w.job_seq AND t.idx = w.idx AND t.state = 0
           RETURNING t.job_seq, t.idx`,
};
for (const [name, text] of Object.entries(variants)) {
  await c.query('BEGIN');
  const t0 = performance.now();
  const r = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) ${text}`, [w.jobSeqs, w.indexes, w.outputs, w.errors, w.failures, w.losses]);
  console.log('---', name, (performance.now() - t0).toFixed(1), 'ms\n' + r.rows.map((x) => x['QUERY PLAN']).join('\n'));
  await c.query('ROLLBACK');
}
c.release();
await store.pool.query('DROP SCHEMA explain_m CASCADE');
await store.close();
