/**
 * A compute pool with no threads, for swarms of 100+ volunteers in one process: it runs each lease on the
 * next turn of the event loop (setImmediate) with a synchronous `compute`, so every lease waiting at that
 * moment ends in the same turn and leaves in one `results` frame, as the thread pool's batches do.
 */
import type { AttemptOutcome, PoolEvents, PoolLike, PoolTask } from '@barnraise/shared';

/** What one lease gives: an output, or a failure with its message. */
export type Compute = (task: PoolTask) => { ok: true; output: unknown } | { ok: false; error: string };

export class InlinePool implements PoolLike {
  private readonly queue: PoolTask[] = [];
  private size: number;
  private drainQueued = false;

  constructor(
    size: number,
    private readonly events: PoolEvents,
    private readonly compute: Compute,
  ) {
    this.size = size;
  }

  /** Nothing runs between turns: a lease is either waiting or done. */
  get running(): number {
    return 0;
  }

  get queued(): number {
    return this.queue.length;
  }

  get workers(): number {
    return this.size;
  }

  resize(n: number): void {
    this.size = n;
    this.events.changed();
    if (n > 0 && this.queue.length > 0) this.scheduleDrain();
  }

  run(task: PoolTask): void {
    this.queue.push(task);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    setImmediate(() => this.drain());
  }

  abort(a: string): boolean {
    const k = this.queue.findIndex((t) => t.a === a);
    if (k < 0) return false;
    this.queue.splice(k, 1);
    return true;
  }

  /** Take up to `n` waiting leases, the last queued first (what the thread pool hands back). */
  takeQueued(n = this.queue.length): PoolTask[] {
    return this.queue.splice(Math.max(0, this.queue.length - n));
  }

  reset(): PoolTask[] {
    return this.queue.splice(0);
  }

  /** Every lease waiting now, in order; each leaves the queue before its `done`, so the core sees it freed. */
  private drain(): void {
    this.drainQueued = false;
    for (let n = this.queue.length; n > 0 && this.queue.length > 0 && this.size > 0; n--) {
      const task = this.queue.shift()!;
      this.events.started(task);
      const t0 = performance.now();
      let outcome: AttemptOutcome;
      try {
        const r = this.compute(task);
        outcome = r.ok ? { ok: true, output: r.output, ms: performance.now() - t0 } : { ok: false, error: r.error, ms: performance.now() - t0 };
      } catch (err) {
        outcome = { ok: false, error: (err as Error).message, ms: performance.now() - t0 };
      }
      this.events.done(task, outcome);
    }
  }
}
