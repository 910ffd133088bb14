/**
 * [K9] Where a master is in the cluster's event log. On PostgreSQL the log is numbered by a sequence: two
 * concurrent commits may become visible in the other order than their numbers, and a rolled-back one leaves
 * its number unused for good. So a gap is not passed at once: reads start from the first missing number
 * (skipping lines already taken) until it shows up or `gapMs` has gone by.
 */
export class EventCursor {
  /** Every number up to here was taken or given up on. */
  private floor: number;
  /** Numbers above the floor already taken. */
  private readonly taken = new Set<number>();
  /** When the number just above the floor was first found missing. */
  private gapSince: number | null = null;

  constructor(
    start: number,
    private readonly gapMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.floor = start;
  }

  /** Read the log after this number. */
  get after(): number {
    return this.floor;
  }

  /** The lines of a read after `after` (in number order) not taken before; moves the cursor on. */
  take<T extends { seq: number }>(rows: readonly T[]): T[] {
    const fresh = rows.filter((r) => r.seq > this.floor && !this.taken.has(r.seq));
    for (const r of fresh) this.taken.add(r.seq);
    this.advance();
    return fresh;
  }

  private advance(): void {
    for (;;) {
      while (this.taken.delete(this.floor + 1)) {
        this.floor++;
        this.gapSince = null;
      }
      if (this.taken.size === 0) return;
      // A line above a missing number: wait for the number a while, then pass it.
      this.gapSince ??= this.now();
      if (this.now() - this.gapSince < this.gapMs) return;
      this.floor++;
      this.gapSince = null;
    }
  }
}
