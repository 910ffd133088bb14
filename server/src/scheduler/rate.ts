/** Events per second over a sliding window of one-second buckets, on the injected clock. */
import type { Clock } from './clock.ts';

export class RateMeter {
  private readonly buckets: Float64Array;
  private head = 0;
  private headSecond: number;

  constructor(
    private readonly clock: Clock,
    private readonly windowS = 5,
  ) {
    this.buckets = new Float64Array(windowS + 1);
    this.headSecond = Math.floor(clock.now() / 1000);
  }

  private advance(): void {
    const second = Math.floor(this.clock.now() / 1000);
    const steps = Math.min(second - this.headSecond, this.buckets.length);
    for (let k = 0; k < steps; k++) {
      this.head = (this.head + 1) % this.buckets.length;
      this.buckets[this.head] = 0;
    }
    if (second > this.headSecond) this.headSecond = second;
  }

  add(n = 1): void {
    this.advance();
    this.buckets[this.head]! += n;
  }

  /** Average per second over the last `windowS` whole seconds (the current partial one excluded). */
  perSecond(): number {
    this.advance();
    let sum = 0;
    for (let k = 1; k <= this.windowS; k++) sum += this.buckets[(this.head - k + this.buckets.length) % this.buckets.length]!;
    return sum / this.windowS;
  }
}
