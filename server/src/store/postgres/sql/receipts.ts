/** [K9] The writer's last batch and its receipt (migration 005). */
import type { Queryable } from '../connect.ts';

/**
 * Lock the writer's row (creating it empty the first time) and read what it keeps. Held to COMMIT, the lock
 * makes a retry wait for a first try the server is still running, then see what it kept.
 */
export async function lockReceipt(db: Queryable, master: string): Promise<{ batch: string; receipt: string }> {
  const { rows } = await db.query<{ batch: string; receipt: string }>({
    name: 'barnraise.lockReceipt',
    text: `INSERT INTO commit_receipts (master, batch, receipt) VALUES ($1, '', '')
           ON CONFLICT (master) DO UPDATE SET master = excluded.master RETURNING batch, receipt`,
    values: [master],
  });
  return rows[0]!;
}

export async function keepReceipt(db: Queryable, master: string, batch: string, receipt: string): Promise<void> {
  await db.query({ name: 'barnraise.keepReceipt', text: 'UPDATE commit_receipts SET batch = $2, receipt = $3 WHERE master = $1', values: [master, batch, receipt] });
}

/** The rows of masters that are gone. */
export async function forgetReceipts(db: Queryable, masters: string[]): Promise<void> {
  if (masters.length === 0) return;
  await db.query({ name: 'barnraise.forgetReceipts', text: 'DELETE FROM commit_receipts WHERE master = ANY($1::text[])', values: [masters] });
}
