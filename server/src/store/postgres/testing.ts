/**
 * For tests against a real PostgreSQL: where it is, whether it answers, a schema of its own per test.
 * Without PostgreSQL the tests skip and say why; under CI (CI=true), which has one, they fail instead.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The test server: BARNRAISE_TEST_DATABASE_URL, else the machine's own (trust auth, database `test`). */
export const PG_TEST_URL = process.env.BARNRAISE_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const problem = await reachable(PG_TEST_URL);
/** True when the test server answers. */
export const pgAvailable = problem === null;

/**
 * `describe` for tests that need PostgreSQL: runs them when it answers; otherwise skips them with a line
 * saying why, or, under CI, fails with that reason (CI has PostgreSQL: a skip there would hide a fault).
 */
export function describeWithPg(name: string, body: () => void): void {
  if (pgAvailable) {
    describe(name, body);
    return;
  }
  const why = `PostgreSQL not reachable at ${PG_TEST_URL} (${problem})`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs PostgreSQL, which CI has', () => {
        throw new Error(`${why}: CI=true, so this fails instead of skipping`);
      });
    });
    return;
  }
  console.log(`${why}: skipping "${name}" (start it with: pg_ctlcluster --skip-systemctl-redirect <version> main start)`);
  describe.skip(name, body);
}

/** A fresh schema name for one test; drop it with `dropSchema`. */
export function testSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drop schemas made by tests, with everything in them. */
export async function dropSchemas(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: PG_TEST_URL });
  await client.connect();
  try {
    for (const name of names) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a test schema: ${name}`);
      await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    }
  } finally {
    await client.end();
  }
}
