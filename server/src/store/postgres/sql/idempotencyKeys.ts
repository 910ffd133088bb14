/** Idempotency-Key rows (rule S5). */
import type { Queryable } from '../connect.ts';

export interface KeyRow {
  job_id: string;
  body_sha256: string;
}

export async function keyByName(db: Queryable, key: string): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>({ name: 'barnraise.keyByName', text: 'SELECT job_id, body_sha256 FROM idempotency_keys WHERE key = $1', values: [key] });
  return rows[0];
}

/**
 * Reserve `key` unless it is taken; returns the row only when this call made it. Two reservations at the
 * same moment: the second waits on the first's uncommitted key and then does nothing, so one wins.
 */
export async function reserveKey(db: Queryable, key: string, jobId: string, bodySha256: string, now: number): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: 'barnraise.reserveKey',
    text: `INSERT INTO idempotency_keys (key, job_id, body_sha256, created_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO NOTHING
           RETURNING job_id, body_sha256`,
    values: [key, jobId, bodySha256, now],
  });
  return rows[0];
}

export async function purgeKeysBefore(db: Queryable, before: number): Promise<number> {
  const { rowCount } = await db.query({ name: 'barnraise.purgeKeysBefore', text: 'DELETE FROM idempotency_keys WHERE created_at < $1', values: [before] });
  return rowCount ?? 0;
}
