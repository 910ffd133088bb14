/**
 * Idempotency keys in PostgreSQL, beside the jobs (same pool, same schema), for masters that share a
 * database: a key reserved on one master is seen by all, and two reservations of one key at the same
 * moment, on two masters, have one winner (the primary key decides). Each reservation is its own
 * autocommitted statement: durable before the job is inserted (rule S5).
 */
import type pg from 'pg';
import type { IdempotencyKeys, KeyRecord } from '../../security/idempotency.ts';
import { keyByName, purgeKeysBefore, reserveKey, type KeyRow } from './sql/idempotencyKeys.ts';

const toRecord = (r: KeyRow): KeyRecord => ({ jobId: r.job_id, bodySha256: r.body_sha256 });

/** Keys in the `idempotency_keys` table of the store's schema. The pool stays the store's to close. */
export function pgIdempotencyKeys(pool: pg.Pool): IdempotencyKeys {
  return {
    async get(key) {
      const row = await keyByName(pool, key);
      return row && toRecord(row);
    },
    async reserve(key, record, now) {
      if (await reserveKey(pool, key, record.jobId, record.bodySha256, now)) return record;
      const winner = await keyByName(pool, key);
      // Only a purge between the two statements could remove it; then the key is free again: take it.
      return winner ? toRecord(winner) : this.reserve(key, record, now);
    },
    purgeBefore(before) {
      return purgeKeysBefore(pool, before);
    },
    async close() {},
  };
}
