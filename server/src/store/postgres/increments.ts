/**
 * The counters a commit adds to job rows. JobProgress gives every counter as an absolute value held in the
 * master's memory; the store turns each into an increment (docs/postgres.md, "Counters only by
 * increments"), so a refused write counts nothing and two masters' commits add up:
 * - `done`/`failed`: the task rows this transaction made final;
 * - `requeues`, `inconclusive`: no row to count, so the value given less the job's baseline (what this store
 *   last wrote or read for it);
 * - `replicas`: the replica rows this transaction inserted, plus the outcomes the batch carries no row for
 *   (a result for a task that was final already is counted in memory but not stored): the value given less
 *   the baseline, less the rows the batch sent, when that is positive. A retried commit whose rows landed
 *   the first time thus adds only those row-less outcomes again, not its rows.
 */
import type { JobProgress } from '../store.ts';
import type { JobCounts } from './sql/addJobCounts.ts';

/** The counters JobProgress carries that no task row counts, as this store last wrote or read them. */
export interface Baseline {
  requeues: number;
  replicas: number;
  inconclusive: number;
}

/** The baseline a job's progress (or record) sets. An absent validation counter is 0, as SQLite writes it. */
export function baselineOf(p: Pick<JobProgress, 'requeues' | 'replicas' | 'inconclusive'>): Baseline {
  return { requeues: p.requeues, replicas: p.replicas ?? 0, inconclusive: p.inconclusive ?? 0 };
}

type Counter = keyof Omit<JobCounts, 'seqs'>;

/** Increments by job seq, collected over one commit. */
export class JobIncrements {
  private readonly bySeq = new Map<number, Record<Counter, number>>();

  add(seq: number, counter: Counter, n: number): void {
    if (n === 0) return;
    let c = this.bySeq.get(seq);
    if (!c) this.bySeq.set(seq, (c = { done: 0, failed: 0, requeues: 0, replicas: 0, inconclusive: 0 }));
    c[counter] += n;
  }

  /**
   * The job's progress against its baseline. `fromRow`: the baseline is the row as read now (a job this
   * store never wrote); then no counter goes down, since another master may have raised it.
   */
  addProgress(seq: number, now: Baseline, base: Baseline, replicaRows: { inserted: number; sent: number }, fromRow: boolean): void {
    const delta = (n: number) => (fromRow ? Math.max(0, n) : n);
    this.add(seq, 'requeues', delta(now.requeues - base.requeues));
    this.add(seq, 'inconclusive', delta(now.inconclusive - base.inconclusive));
    this.add(seq, 'replicas', replicaRows.inserted + Math.max(0, now.replicas - base.replicas - replicaRows.sent));
  }

  /** Column arrays for addJobCounts, jobs in seq order (row locks always taken in one order); null if nothing. */
  columns(): JobCounts | null {
    if (this.bySeq.size === 0) return null;
    const seqs = [...this.bySeq.keys()].sort((a, b) => a - b);
    const col = (k: Counter) => seqs.map((s) => this.bySeq.get(s)![k]);
    return { seqs, done: col('done'), failed: col('failed'), requeues: col('requeues'), replicas: col('replicas'), inconclusive: col('inconclusive') };
  }
}
