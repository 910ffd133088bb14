/**
 * A queue of task indices that want replicas, scanned for the first one a given volunteer may take (rule
 * V6 can make the head ineligible for one volunteer and fine for the next). Stale entries are dropped as
 * the scan meets them; a scan looks at a bounded number of entries, so a queue of tasks nobody online may
 * take costs a dispatch little.
 */
export type Verdict = 'take' | 'keep' | 'skip' | 'stale';

const SCAN_LIMIT = 256;

export class ReplicaQueue {
  private items: number[] = [];
  private head = 0;

  push(index: number): void {
    this.items.push(index);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * The first index for which `judge` says `take` (removed) or `keep` (taken, but left at its place: the task
   * wants further replicas). `skip` leaves an entry for other volunteers; `stale` drops it.
   */
  scan(judge: (index: number) => Verdict): number | undefined {
    this.compact();
    let seen = 0;
    for (let k = this.head; k < this.items.length && seen < SCAN_LIMIT; k++) {
      const index = this.items[k]!;
      const verdict = judge(index);
      if (verdict === 'skip') {
        seen++;
        continue;
      }
      if (verdict !== 'keep' && this.removeAt(k)) k--;
      if (verdict === 'take' || verdict === 'keep') return index;
    }
    return undefined;
  }

  /** Remove entry k; true when the entries after it moved down one place. */
  private removeAt(k: number): boolean {
    if (k !== this.head) {
      this.items.splice(k, 1);
      return true;
    }
    this.head++;
    return false;
  }

  /** Drop the consumed prefix now and then, so the array does not grow without bound. */
  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
