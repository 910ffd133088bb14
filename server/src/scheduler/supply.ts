/**
 * Claims (SPEC.md K1): a master leases from memory, over tasks it claimed from the store in batches, so the
 * fast path costs no database round trip per task. A job's batch follows demand (the credits of volunteers
 * waiting here), and a buffer nobody here leases from is given back for other masters to take.
 */
import type { Owner, Store } from '../store/store.ts';
import { largestJsonBound } from '../security/json.ts';
import type { JobState } from './state.ts';

/** Claim at least this many at a time (a round trip costs more than a few tasks), at most this many. */
const MIN_BATCH = 32;
/**
 * At most this many: about 160 ms of trivial tasks at a master's full rate. At 2,000 (40 ms of them) a master
 * on PostgreSQL ran its buffer dry while a claim waited behind a busy server, and its volunteers idled: the
 * cluster benchmark's one master went from 41,300 to 49,300 tasks/s (median of 5 interleaved runs) at 8,000.
 * The lease rate keeps slower jobs' claims small (CLAIM_AHEAD_MS), so only fast jobs come in claims this big.
 */
const MAX_BATCH = 8000;
/** A buffer no lease has drawn from for this long is given back (K1): another master's volunteers may be waiting. */
export const IDLE_RELEASE_MS = 5000;
/**
 * [K1] A claim also covers about this long of the job's recent lease rate. Sized by waiting credits alone, a
 * claim of trivial tasks was a few dozen and a master on PostgreSQL spent its time on claim round trips (the
 * cluster benchmark: 2.2× the throughput with claims of 500); sized by the rate, short tasks come in big
 * claims and long ones (a low rate) in small ones, so no master sits on work others could run.
 */
export const CLAIM_AHEAD_MS = 250;
/** How often a job's lease rate is re-estimated, and how much each estimate weighs. */
const RATE_WINDOW_MS = 200;
const RATE_WEIGHT = 0.5;
/**
 * [K1] Slow start: a claim half drawn by leases within this long of being asked for makes the next one twice
 * its size. Before the first rate estimate (RATE_WINDOW_MS) claims follow the waiting credits alone, and a
 * new fast job ran its first 200 ms at a third of its rate (the cluster benchmark: claims of about 1,500
 * every 20-70 ms, where 8,000 were wanted); a slow job's leases never draw a claim down that fast.
 */
const SLOW_START_MS = 100;

/** Leases drawn from one job's buffer: a smoothed rate per millisecond. */
interface Draws {
  last: number;
  windowStart: number;
  count: number;
  perMs: number;
  /** The last claim: when it was asked for, its size, and the leases drawn since. */
  askedAt: number;
  asked: number;
  drawnSinceAsk: number;
}

export interface SupplyOptions {
  store: Store;
  owner: () => Owner;
  /** Claims may be made (false while the master has lost the store, K3). */
  live: () => boolean;
  /** Before claimed tasks are taken: load what they need (the trust of the identities their votes name). */
  prepare(tasks: Awaited<ReturnType<Store['claimTasks']>>): Promise<void>;
  /** Tasks arrived: the scheduler takes them and dispatches. */
  onClaimed(job: JobState, tasks: Awaited<ReturnType<Store['claimTasks']>>): void;
  onError(err: unknown): void;
}

export class Supply {
  private readonly inFlight = new Set<Promise<void>>();
  /** When each job last had a lease drawn from its buffer here, and how fast they are drawn. */
  private readonly drawn = new WeakMap<JobState, Draws>();

  constructor(private readonly opts: SupplyOptions) {}

  /** [K1] Ask the store for more of `job` when its buffer is below what `demand` credits will want soon. */
  want(job: JobState, demand: number, now: number): void {
    if (job.claiming || !job.claimable || job.isFinished() || demand <= 0 || !this.opts.live()) return;
    const d = this.drawn.get(job);
    const ahead = Math.ceil((d?.perMs ?? 0) * CLAIM_AHEAD_MS);
    const quick = d && now - d.askedAt < SLOW_START_MS && d.drawnSinceAsk * 2 >= d.asked ? 2 * d.asked : 0;
    const target = Math.min(MAX_BATCH, Math.max(MIN_BATCH, 2 * demand, ahead, quick));
    const buffered = job.workCount();
    if (buffered * 2 >= target) return;
    const n = target - buffered;
    const owner = this.opts.owner();
    job.claiming = true;
    const draws = d ?? this.fresh(now, 0);
    if (!d) this.drawn.set(job, draws);
    draws.askedAt = now;
    draws.asked = target;
    draws.drawnSinceAsk = 0;
    const p = this.opts.store.claimTasks(job.id, owner, n).then(async (tasks) => {
      await this.opts.prepare(tasks);
      return tasks;
    }).then(
      (tasks) => {
        job.claiming = false;
        if (tasks.length < n) job.claimable = false;
        // Claims made under an older generation are void (K3): the store releases them when the master is back.
        if (owner.gen !== this.opts.owner().gen || job.isFinished()) return;
        // A job submitted here was measured whole at submission; one from another master is measured as it comes (S15).
        if (tasks.length > 0 && job.measureClaims) job.maxInputBytes = Math.max(job.maxInputBytes, largestJsonBound(tasks.map((t) => t.input)));
        this.opts.onClaimed(job, tasks);
      },
      (err: unknown) => {
        job.claiming = false;
        this.opts.onError(err);
      },
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** A lease was drawn from `job`'s buffer. */
  leased(job: JobState, now: number): void {
    const d = this.drawn.get(job);
    if (!d) return void this.drawn.set(job, this.fresh(now, 1));
    d.last = now;
    d.count++;
    d.drawnSinceAsk++;
    const span = now - d.windowStart;
    if (span >= RATE_WINDOW_MS) {
      d.perMs = d.perMs === 0 ? d.count / span : (1 - RATE_WEIGHT) * d.perMs + (RATE_WEIGHT * d.count) / span;
      d.windowStart = now;
      d.count = 0;
    }
  }

  private fresh(now: number, count: number): Draws {
    return { last: now, windowStart: now, count, perMs: 0, askedAt: -Infinity, asked: 0, drawnSinceAsk: 0 };
  }

  /** Leases per second drawn from `job`'s buffer here, as last estimated (0 before the first estimate). */
  leaseRate(job: JobState): number {
    return (this.drawn.get(job)?.perMs ?? 0) * 1000;
  }

  /** [K1] Give back the buffer of a job no lease has drawn from lately, so other masters may take it. */
  releaseIdle(job: JobState, now: number): void {
    const d = this.drawn.get(job);
    const last = d?.last ?? now;
    if (now - last < IDLE_RELEASE_MS || job.claiming) return;
    const idle = job.buffered();
    if (idle.length === 0) return;
    job.drop(idle);
    job.claimable = true;
    // Nothing drawn for a while: the old rate no longer says anything about the next claim.
    this.drawn.set(job, this.fresh(now, 0));
    const p = this.opts.store.releaseTasks(job.id, this.opts.owner(), idle).then(
      () => undefined,
      (err: unknown) => this.opts.onError(err),
    );
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Resolves once every claim and release under way has landed (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
