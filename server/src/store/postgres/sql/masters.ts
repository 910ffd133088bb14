/**
 * [K2] Masters' liveness on the database's clock: a beat upserts the master's row with `now()` in ms, and a
 * sweep (by one master at a time) forgets the silent ones and frees their claims.
 */
import type { Queryable } from '../connect.ts';
import type { MasterDbRow } from '../rows.ts';

/** The database's clock in ms: every master's beat and every sweep read the same clock. */
const NOW_MS = '(extract(epoch FROM now()) * 1000)::bigint';

/** Upsert the master's row; returns the database's time of the beat (ms). */
export async function beat(db: Queryable, id: string, gen: number, url: string, stats: string): Promise<number> {
  const { rows } = await db.query<{ beat_at: string }>({
    name: 'barnraise.beat',
    text: `INSERT INTO masters (id, gen, url, started_at, beat_at, stats) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS}, $4::jsonb)
           ON CONFLICT (id) DO UPDATE SET gen = excluded.gen, url = excluded.url, beat_at = excluded.beat_at, stats = excluded.stats
           RETURNING beat_at`,
    values: [id, gen, url, stats],
  });
  return Number(rows[0]!.beat_at);
}

/**
 * Only one sweep at a time per schema: the others find the lock taken and do nothing (pg-boss and Oban elect
 * their maintenance node so). A transaction-level lock: it goes with the transaction, also when the
 * connection dies. Returns whether this transaction holds it.
 */
export async function trySweepLock(db: Queryable, lockClass: number, schema: string): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>({ name: 'barnraise.trySweepLock', text: 'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok', values: [lockClass, schema] });
  return rows[0]!.ok;
}

/** Delete the masters silent for `ttlMs`; returns their ids, oldest first. */
export async function deleteSilentMasters(db: Queryable, ttlMs: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string; started_at: string }>({
    name: 'barnraise.deleteSilentMasters',
    text: `DELETE FROM masters WHERE beat_at < ${NOW_MS} - $1::bigint RETURNING id, started_at`,
    values: [ttlMs],
  });
  return rows.sort((a, b) => Number(a.started_at) - Number(b.started_at) || (a.id < b.id ? -1 : 1)).map((r) => r.id);
}

/** Masters that beat within `ttlMs`, by start. */
export async function liveMasters(db: Queryable, ttlMs: number): Promise<MasterDbRow[]> {
  const { rows } = await db.query<MasterDbRow>({
    name: 'barnraise.liveMasters',
    text: `SELECT id, gen, url, started_at, beat_at, stats FROM masters WHERE beat_at >= ${NOW_MS} - $1::bigint ORDER BY started_at, id COLLATE "C"`,
    values: [ttlMs],
  });
  return rows;
}
