/**
 * `Idempotency-Key` on `POST /api/jobs`: the same key gives back the same job instead of a second one,
 * across retries, concurrent duplicates and crashes of the master.
 *
 * Keys live in their own small SQLite file beside the store (the Store interface stays about jobs). The
 * key and the job id it will get are made durable *before* the job is inserted, and the job is inserted
 * under that id: a crash between the two leaves a reservation whose retry inserts the job then, and a
 * crash after both finds the job. Either way one key makes at most one job, with no transaction spanning
 * two files.
 *
 * The interface is asynchronous so that a database server can hold the keys too (BARNRAISE_DATABASE_URL:
 * store/postgres/idempotency.ts), where two masters may reserve one key at the same moment.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';

export const IDEMPOTENCY_FILE = 'idempotency.db';

export interface KeyRecord {
  jobId: string;
  /** sha256 of the request body, hex: a key reused with another body is refused. */
  bodySha256: string;
}

/** Durable map from Idempotency-Key to the job it made. */
export interface IdempotencyKeys {
  get(key: string): Promise<KeyRecord | undefined>;
  /**
   * Reserve `key` for `record` unless it is reserved already; durable when it resolves. Returns what the key
   * holds now: `record`, or the earlier reservation that won (one winner however many reserve at once).
   */
  reserve(key: string, record: KeyRecord, now: number): Promise<KeyRecord>;
  /** Forget keys made before `before` (ms); their jobs are past retention too. */
  purgeBefore(before: number): Promise<number>;
  close(): Promise<void>;
}

export function openIdempotencyKeys(dataDir: string): IdempotencyKeys {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, IDEMPOTENCY_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID`);
  const get = db.prepare<[string], { job_id: string; body_sha256: string }>('SELECT job_id, body_sha256 FROM idempotency_keys WHERE key = ?');
  const insert = db.prepare('INSERT INTO idempotency_keys (key, job_id, body_sha256, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING');
  const purge = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  const read = (key: string): KeyRecord | undefined => {
    const row = get.get(key);
    return row && { jobId: row.job_id, bodySha256: row.body_sha256 };
  };
  return {
    async get(key) {
      return read(key);
    },
    async reserve(key, record, now) {
      return insert.run(key, record.jobId, record.bodySha256, now).changes === 1 ? record : read(key)!;
    },
    async purgeBefore(before) {
      return purge.run(before).changes;
    },
    async close() {
      db.close();
    },
  };
}
