/**
 * [K1][K2][K3] Claims and masters' beats on SQLite, kept in memory. A SQLite file belongs to one process (the
 * master, or the store thread it runs on), so who holds a task and who beat when need not outlive it: a master
 * that restarts starts a new generation and would free its old claims anyway (K3). Kept out of the rows, a
 * claim costs no write and a final write no index change; on PostgreSQL, shared by several processes, they are
 * rows (postgres/sql/claims.ts).
 *
 * Per job, every pending task above `cursor` has never been claimed since this process opened the file; the
 * tasks claimed and given back since (or made pending again by a retry of failed ones) wait in `returned`,
 * below it. A claim takes those first, then scans on from the cursor: lowest index first (K1).
 */
import type { MasterRow, MasterStats, Owner } from '../store.ts';

interface JobClaims {
  readonly holders: Map<number, Owner>;
  cursor: number;
  readonly returned: Set<number>;
}

export class ClaimBook {
  private readonly jobs = new Map<number, JobClaims>();
  private readonly masters = new Map<string, MasterRow>();

  private of(seq: number): JobClaims {
    let c = this.jobs.get(seq);
    if (!c) this.jobs.set(seq, (c = { holders: new Map(), cursor: -1, returned: new Set() }));
    return c;
  }

  /** Where a claim of `seq` scans on from. */
  cursor(seq: number): number {
    return this.of(seq).cursor;
  }

  /** Up to `n` returned tasks of `seq`, lowest first (the caller checks each is still pending). */
  takeReturned(seq: number, n: number): number[] {
    const c = this.jobs.get(seq);
    if (!c || c.returned.size === 0 || n <= 0) return [];
    const taken = [...c.returned].sort((a, b) => a - b).slice(0, n);
    for (const i of taken) c.returned.delete(i);
    return taken;
  }

  /** `owner` now holds these tasks of `seq`; `scannedTo`: the claim's scan read up to this index. */
  hold(seq: number, owner: Owner, indices: readonly number[], scannedTo?: number): void {
    const c = this.of(seq);
    for (const i of indices) c.holders.set(i, owner);
    if (scannedTo !== undefined && scannedTo > c.cursor) c.cursor = scannedTo;
  }

  /** Does `owner` (its generation exactly) hold task `index` of `seq`? */
  holds(seq: number, index: number, owner: Owner): boolean {
    const h = this.jobs.get(seq)?.holders.get(index);
    return h !== undefined && h.master === owner.master && h.gen === owner.gen;
  }

  /** The task became final: nobody holds it any more, and it is not to be claimed again. */
  ended(seq: number, index: number): void {
    const c = this.jobs.get(seq);
    if (!c) return;
    c.holders.delete(index);
    c.returned.delete(index);
  }

  /** The task is pending and nobody's: the next claim takes it. */
  returnTask(seq: number, index: number): void {
    const c = this.of(seq);
    c.holders.delete(index);
    if (index <= c.cursor) c.returned.add(index);
  }

  /** Give back the tasks of `seq` that `owner` holds among `indices`; returns how many. */
  release(seq: number, owner: Owner, indices: readonly number[]): number {
    let n = 0;
    for (const i of indices) {
      if (!this.holds(seq, i, owner)) continue;
      this.returnTask(seq, i);
      n++;
    }
    return n;
  }

  /** Give back every claim whose holder `gone` says is gone; returns how many. */
  releaseWhere(gone: (h: Owner) => boolean): number {
    let n = 0;
    for (const [seq, c] of this.jobs) {
      for (const [i, h] of c.holders) {
        if (!gone(h)) continue;
        this.returnTask(seq, i);
        n++;
      }
    }
    return n;
  }

  /** Every claim on the job goes (a cancel); its tasks are pending and nobody's. */
  releaseJob(seq: number): void {
    const c = this.jobs.get(seq);
    if (!c) return;
    for (const i of [...c.holders.keys()]) this.returnTask(seq, i);
  }

  /** The job left the store. */
  forget(seq: number): void {
    this.jobs.delete(seq);
  }

  beat(owner: Owner, url: string, stats: MasterStats, at: number): void {
    const was = this.masters.get(owner.master);
    this.masters.set(owner.master, { id: owner.master, gen: owner.gen, url, startedAt: was?.startedAt ?? at, beatAt: at, stats });
  }

  /** Masters silent since before `before` are forgotten (with their claims, and any claim of a master with no beat). */
  sweep(before: number): string[] {
    const silent = [...this.masters.values()].filter((m) => m.beatAt < before).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
    for (const m of silent) this.masters.delete(m.id);
    this.releaseWhere((h) => !this.masters.has(h.master));
    return silent.map((m) => m.id);
  }

  liveMasters(since: number): MasterRow[] {
    return [...this.masters.values()].filter((m) => m.beatAt >= since).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  }
}
