/**
 * Schema migrations: numbered SQL files in ./migrations, applied in order at start, each in its own
 * transaction with its version recorded in `schema_migrations`. Several masters may start at once on one
 * database: all of it runs under a session advisory lock, so one of them migrates and the others, once
 * they get the lock, find every version already there.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { checkSchemaName } from './connect.ts';
import { SOURCE_DIR } from '../../paths.ts';

const MIGRATIONS_DIR = path.join(SOURCE_DIR, 'store/postgres/migrations');

/**
 * The advisory lock's two keys: a fixed class for Barnraise migrations and the schema's hash, so masters
 * of one deployment wait for each other while deployments (or tests) in other schemas do not.
 */
const LOCK_CLASS = 0x62726e72; // 'brnr'

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this build, by version. File names are `NNN_what.sql`. */
export function migrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({ version: Number.parseInt(f, 10), name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(dir, f), 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/** Bring `schema` up to date. Returns the versions this call applied (none when another master did). */
export async function migrate(pool: pg.Pool, schema: string, list: Migration[] = migrations()): Promise<number[]> {
  const quoted = `"${checkSchemaName(schema)}"`;
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, schema]);
    try {
      // Inside the lock: CREATE ... IF NOT EXISTS is not safe against a concurrent create of the same name.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query(`SET search_path TO ${quoted}, public`);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const have = new Set(rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of list) {
        if (have.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, schema]).catch(() => {
        broken = true; // a dead connection has let go of its lock already; drop it from the pool
      });
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}
