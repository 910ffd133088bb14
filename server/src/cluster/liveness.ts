/**
 * Master liveness (SPEC.md K2, K3): a master beats into the store every `beatMs`; one silent for `ttlMs` (on
 * the store's clock) is dead, and any master's sweep releases its claims. A master that cannot beat for
 * `ttlMs - margin` on its own clock assumes the others will soon take its claims: it stops leasing and
 * acknowledging from them (a new generation fences every write of the old one, K4), and when it beats again
 * it releases whatever the old generations still held.
 */
import type { MasterStats, Owner, Store } from '../store/store.ts';

export interface LivenessOptions {
  store: Store;
  master: string;
  /** Where other masters reach this one (known once it listens). */
  url: () => string;
  beatMs: number;
  ttlMs: number;
  stats: () => MasterStats;
  /** Lost the store: the claims of the current generation are void. */
  onLost(): void;
  /** Beating again, under a new generation, with the old claims released. */
  onRegained(): void;
  onError(err: unknown): void;
  /** After each good beat (reading the other masters). */
  afterBeat?(): Promise<void>;
  /**
   * The store is this master's alone (SQLite: one process owns the file), so nobody can take its claims: only
   * beats that fail for the lapse count (else a store thread or event loop busy for 3 s made the master drop
   * and reload its jobs, for nothing).
   */
  exclusive?: boolean;
  /** A monotonic clock (ms). */
  now?: () => number;
}

export class Liveness {
  private gen = 1;
  /** When the last beat landed; null before the first try, so a slow start is not a lapse. */
  private lastOk: number | null = null;
  private lost = false;
  private timer: NodeJS.Timeout | null = null;
  private beating = false;
  private maintaining = false;
  private readonly now: () => number;

  constructor(private readonly opts: LivenessOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Who this master is to the store now. */
  owner(): Owner {
    return { master: this.opts.master, gen: this.gen };
  }

  /** False from the moment this master must assume its claims are gone until it beats again (K3). */
  alive(): boolean {
    return !this.lost;
  }

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.opts.beatMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One beat (and a sweep of the dead). Also checks, whatever the store does, whether this master lost it. */
  async beat(): Promise<void> {
    // The time from construction to the first beat (migrations, a sweep, a loaded machine) is no lapse:
    // counted, it made a master start by declaring the store lost.
    this.lastOk ??= this.now();
    // On a store of its own a master loses it only by beats that fail (below): not by a beat still waiting, nor
    // by the gap a long one leaves once it lands, nor by a tick that a starved event loop ran late.
    if (!this.opts.exclusive) this.checkLost();
    if (this.beating) return; // a beat still hanging on a store that does not answer
    this.beating = true;
    let landed = false;
    try {
      // The beat is stamped in the store between our send and its answer: counted from the send, a slow
      // answer never stretches this master's idea of its lease past what the others see.
      const sent = this.now();
      await this.opts.store.beat(this.owner(), this.opts.url(), this.opts.stats());
      this.lastOk = sent;
      if (this.lost) {
        await this.opts.store.releaseClaims(this.opts.master, this.gen);
        this.lost = false;
        this.opts.onRegained();
      }
      landed = true;
    } catch (err) {
      this.opts.onError(err);
      this.checkLost();
    } finally {
      this.beating = false;
    }
    if (landed) await this.maintain();
  }

  /**
   * The sweep of the dead and `afterBeat`, after a beat that landed; one at a time, and never holding back the
   * next beat: a sweep or a read of the other masters waiting 4 s on a busy store made the master miss its
   * beats and declare the store lost (K3) while every beat it sent landed.
   */
  private async maintain(): Promise<void> {
    if (this.maintaining) return;
    this.maintaining = true;
    try {
      await this.opts.store.sweep(this.opts.ttlMs);
      await this.opts.afterBeat?.();
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.maintaining = false;
    }
  }

  private checkLost(): void {
    // A margin of two beats: this master gives its claims up before the others may take them.
    if (this.lost || this.lastOk === null || this.now() - this.lastOk <= this.opts.ttlMs - 2 * this.opts.beatMs) return;
    this.lost = true;
    this.gen++;
    this.opts.onLost();
  }
}
