/**
 * Connections to PostgreSQL: one pool per store, every connection of it in the store's own schema
 * (search_path set at connection start), so several deployments, or each test, can share a database.
 */
import pg from 'pg';

export const DEFAULT_SCHEMA = 'barnraise';

export interface PgOptions {
  /** postgres://user@host:port/database (BARNRAISE_DATABASE_URL). */
  url: string;
  /** Schema holding every table; created when missing. Default `barnraise`. */
  schema?: string;
  /** Connections in the pool. Default 8: commits, inserts and reads each hold one only for a transaction. */
  poolSize?: number;
}

/** A schema name the store accepts: a plain lower-case identifier, so it never needs escaping beyond quotes. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema name must match [a-z_][a-z0-9_]*, got "${schema}"`);
  return schema;
}

/** Is `url` a PostgreSQL URL (as opposed to a path or nothing)? */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//.test(url);
}

/** A pool whose connections all start in `schema`. Errors of idle clients are logged, not thrown. */
export function openPool(opts: PgOptions, onIdleError: (err: Error) => void = () => {}): pg.Pool {
  const schema = checkSchemaName(opts.schema ?? DEFAULT_SCHEMA);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 8,
    // search_path as a startup option: no extra round trip per connection, and no statement can run
    // before it is in force. public stays on the path for extensions installed there.
    options: `-c search_path=${schema},public`,
    application_name: 'barnraise',
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, that would end the process.
  pool.on('error', onIdleError);
  return pool;
}

/** Something that runs queries: the pool itself or one client in a transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** Run `fn` in one transaction on one client of `pool`: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const value = await fn(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection itself failed: do not hand it back to the pool
    }
    throw err;
  } finally {
    client.release(broken);
  }
}
