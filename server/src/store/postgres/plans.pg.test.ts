/**
 * What PostgreSQL does for a statement, read from its executed plan (auto_explain, sent to this session as a
 * notice): a plan that reads a whole job where a few rows were meant passes every other test, only slower.
 */
import type pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { jobRecord } from '../contract.ts';
import { PgStore } from './pg-store.ts';
import { claimReturned } from './sql/claims.ts';
import { describeWithPg, dropSchemas, PG_TEST_URL, testSchema } from './testing.ts';

const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** A plan node as EXPLAIN's JSON format gives it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows of `relation` the executed plan read (returned or filtered out), over every node that scans it. */
function rowsRead(node: PlanNode, relation: string): number {
  const own = node['Relation Name'] === relation ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) : 0;
  return own + (node.Plans ?? []).reduce((sum, p) => sum + rowsRead(p, relation), 0);
}

/** Run `fn` on `client` with every statement's executed plan collected. */
async function plansOf(client: pg.PoolClient, fn: () => Promise<unknown>): Promise<PlanNode[]> {
  const plans: PlanNode[] = [];
  const onNotice = (m: { message?: string }) => {
    const text = m.message ?? '';
    const at = text.indexOf('{');
    if (text.includes('plan:') && at >= 0) plans.push((JSON.parse(text.slice(at)) as { Plan: PlanNode }).Plan);
  };
  client.on('notice', onNotice);
  try {
    for (const setting of ["LOAD 'auto_explain'", 'SET auto_explain.log_min_duration = 0', 'SET auto_explain.log_analyze = on', 'SET auto_explain.log_timing = off', "SET auto_explain.log_format = 'json'", "SET auto_explain.log_level = 'notice'"]) {
      await client.query(setting);
    }
    await fn();
    await client.query('SET auto_explain.log_min_duration = -1');
  } finally {
    client.off('notice', onNotice);
  }
  return plans;
}

describeWithPg('PostgreSQL plans', () => {
  it('[K1] a claim with nothing given back reads no task row, even on statistics older than the job', async () => {
    const schema = testSchema('plans');
    schemas.push(schema);
    const store = await PgStore.open({ url: PG_TEST_URL, schema, poolSize: 2 });
    const client = await store.pool.connect();
    try {
      // Statistics that know a small job only; then a larger one (under the store's own ANALYZE threshold).
      await store.insertJob(jobRecord({ total: 10 }), Array.from({ length: 10 }, (_, i) => i));
      await client.query('ANALYZE tasks');
      const big = jobRecord({ total: 9000 });
      await store.insertJob(big, Array.from({ length: 9000 }, (_, i) => i));
      const seq = (await client.query<{ seq: number }>('SELECT seq FROM jobs WHERE id = $1', [big.id])).rows[0]!.seq;

      const plans = await plansOf(client, () => claimReturned(client, seq, 'm1', 1, 500));
      const claim = plans.find((p) => p['Node Type'] === 'ModifyTable');
      expect(claim, 'the claim statement was explained').toBeDefined();
      expect(rowsRead(claim!, 'tasks'), 'task rows read by a claim that found nothing given back').toBe(0);
    } finally {
      client.release();
      await store.close();
    }
  });
});
