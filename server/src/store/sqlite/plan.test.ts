/**
 * The query plans of the SQLite store's per-task reads. A claim of a validated job reads each claimed task's
 * unsettled votes (rule V13); SQLite's planner, with no statistics, chose to scan the job's whole replica
 * history for each task (PRIMARY KEY (job_seq=?)): a claim of 2,000 tasks took 0.5-2.3 s on the store thread,
 * beats queued behind it, and the master declared the store lost (K3) again and again (BENCHMARKS.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from './store.ts';
import { prepare } from './statements.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('SQLite store query plans', () => {
  it('[K1][V13] a claimed task\'s votes, and a task\'s replicas, are read through the task index, not a scan of the job', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-plan-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    await new SqliteStore({ file }).close();
    const db = new Database(file);
    try {
      const s = prepare(db);
      for (const stmt of [s.unsettledVotesOf, s.taskReplicas]) {
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${stmt.source}`).all(1, 5) as Array<{ detail: string }>).map((r) => r.detail);
        expect(plan.join('; ')).toContain('USING INDEX replicas_task (job_seq=? AND idx=?)');
      }
    } finally {
      db.close();
    }
  });
});
