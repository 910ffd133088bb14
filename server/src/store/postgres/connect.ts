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
  /**
   * The server ends a session of this pool that sits idle inside a transaction this long (ms; default
   * 10,000): a master cut off mid-commit would otherwise hold its job rows' locks, and every other master's
   * commits on those jobs would wait, until TCP gives up on it (minutes).
   */
  idleInTransactionMs?: number;
}

export const DEFAULT_IDLE_IN_TRANSACTION_MS = 10_000;

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
    // Settings as startup options: no extra round trip per connection, and no statement can run before
    // they are in force. public stays on the search path for extensions installed there.
    options: `-c search_path=${schema},public -c idle_in_transaction_session_timeout=${Math.max(1, Math.trunc(opts.idleInTransactionMs ?? DEFAULT_IDLE_IN_TRANSACTION_MS))}`,
    // Keepalives let this side notice a database that vanished without closing the connection.
    keepAlive: true,
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
  // A checked-out client has no error listener of the pool's: a session the server ends between two of
  // our statements (a restart, idle_in_transaction_session_timeout) would emit 'error' unheard and end
  // the process. The next statement fails anyway, and the client is not handed back.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
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
    client.removeListener('error', onError);
    client.release(broken);
  }
}
