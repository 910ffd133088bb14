/** Insert a job's row (counters as given, `replicas`/`inconclusive` from 0 as SQLite does); returns its `seq`, the small key its tasks are stored under. */
import type { JobRecord } from '../../store.ts';
import type { Queryable } from '../connect.ts';
import { pgCode, pgText } from '../rows.ts';

export async function insertJob(db: Queryable, spec: JobRecord): Promise<number> {
  const { rows } = await db.query<{ seq: number }>({
    name: 'barnraise.insertJob',
    text: `INSERT INTO jobs (id, name, code, priority, timeout_ms, max_attempts, max_losses, status, total, done, failed, requeues, created_at, started_at, finished_at, validation, assets)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
           RETURNING seq`,
    values: [
      spec.id,
      pgText(spec.name),
      pgCode(spec.code),
      spec.priority,
      spec.timeoutMs,
      spec.maxAttempts,
      spec.maxLosses,
      spec.status,
      spec.total,
      spec.done,
      spec.failed,
      spec.requeues,
      spec.createdAt,
      spec.startedAt,
      spec.finishedAt,
      spec.validation ? JSON.stringify(spec.validation) : null,
      spec.assets?.length ? JSON.stringify(spec.assets) : null,
    ],
  });
  return rows[0]!.seq;
}
