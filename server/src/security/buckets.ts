/**
 * Admission of volunteer connections per address: a token bucket for the rate at which one address may
 * open connections, and a count of its open ones. Small and in memory; entries of idle addresses are
 * swept, so the map is bounded by the addresses seen in the last minute plus those still connected.
 */
export interface AdmissionOptions {
  /** Sustained connections per second per address. */
  perSecond: number;
  /** Burst size per address. */
  burst: number;
  /** Open connections allowed per address. */
  maxOpen: number;
  now?: () => number;
}

interface Entry {
  tokens: number;
  at: number;
  open: number;
}

export type Admission = 'ok' | 'rate' | 'cap';

export class AddressAdmission {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: AdmissionOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Try to admit one connection from `address`; on 'ok' the caller must call `release` when it closes. */
  admit(address: string): Admission {
    const now = this.now();
    let e = this.entries.get(address);
    if (!e) {
      e = { tokens: this.opts.burst, at: now, open: 0 };
      this.entries.set(address, e);
    }
    e.tokens = Math.min(this.opts.burst, e.tokens + ((now - e.at) / 1000) * this.opts.perSecond);
    e.at = now;
    if (e.open >= this.opts.maxOpen) return 'cap';
    if (e.tokens < 1) return 'rate';
    e.tokens -= 1;
    e.open++;
    return 'ok';
  }

  release(address: string): void {
    const e = this.entries.get(address);
    if (e && e.open > 0) e.open--;
  }

  /** Forget addresses with nothing open whose bucket has refilled. */
  sweep(): void {
    const now = this.now();
    const full = (this.opts.burst / Math.max(this.opts.perSecond, 1e-9)) * 1000;
    for (const [address, e] of this.entries) if (e.open === 0 && now - e.at >= full) this.entries.delete(address);
  }

  /** Addresses tracked (for tests: the map stays bounded). */
  get size(): number {
    return this.entries.size;
  }
}
