/**
 * The asset gate (rule A5): a compute pool in front of the host's own, which holds each lease of a job until
 * the job's assets are there, fetching each asset once for the life of the volunteer (the page, the
 * process), then hands the lease on with where its bytes are. Waiting leases count as queued, so the core
 * asks for no more credits than the volunteer can hold, and they can be aborted or handed back like any
 * other. The download is not part of an attempt: its time limit starts when a thread takes it.
 */
import { describeError } from '../runner.ts';
import type { AssetRef } from '../schemas/assets.ts';
import type { PoolTask } from '../runner.ts';
import type { PoolEvents, PoolLike } from './core.ts';

/**
 * Gets one asset, from the host's cache or the master, its bytes checked against `sha256`; resolves with
 * what the host's compute threads read it from (a Blob in the page, a file path in the headless worker).
 */
export type FetchAsset = (asset: AssetRef) => Promise<unknown>;

export class AssetGate implements PoolLike {
  /** Where each asset fetched so far is, by hash. */
  private readonly sources = new Map<string, unknown>();
  private readonly fetching = new Set<string>();
  /** Leases waiting for their job's assets, in the order they came. */
  private waiting: PoolTask[] = [];

  /** Assets fetched (from a cache or the master) since the gate was made. */
  fetched = 0;

  constructor(
    private readonly inner: PoolLike,
    private readonly fetchAsset: FetchAsset,
    private readonly events: PoolEvents,
  ) {}

  get running(): number {
    return this.inner.running;
  }

  get queued(): number {
    return this.inner.queued + this.waiting.length;
  }

  get workers(): number {
    return this.inner.workers;
  }

  /** Workers running an attempt (not attempts out: a worker may have several sent to it). */
  get busyWorkers(): number | undefined {
    return this.inner.busyWorkers;
  }

  resize(n: number): void {
    this.inner.resize(n);
  }

  run(task: PoolTask): void {
    const assets = task.assets;
    if (!assets || assets.length === 0) return this.inner.run(task);
    const missing = assets.filter((a) => !this.sources.has(a.sha256));
    if (missing.length === 0) return this.inner.run({ ...task, assets: assets.map((a) => ({ ...a, source: this.sources.get(a.sha256) })) });
    this.waiting.push(task);
    for (const asset of missing) this.fetch(asset);
    this.events.changed();
  }

  private fetch(asset: AssetRef): void {
    if (this.fetching.has(asset.sha256)) return;
    this.fetching.add(asset.sha256);
    this.fetchAsset(asset).then(
      (source) => {
        this.fetching.delete(asset.sha256);
        this.sources.set(asset.sha256, source);
        this.fetched++;
        // Leases still missing another asset go back to waiting (its fetch is under way).
        const ready = this.waiting;
        this.waiting = [];
        for (const task of ready) this.run(task);
      },
      (err: unknown) => {
        this.fetching.delete(asset.sha256);
        // Not remembered: the next lease of the job tries again (the master may have been restarting).
        const failed = this.waiting.filter((t) => t.assets!.some((a) => a.sha256 === asset.sha256));
        this.waiting = this.waiting.filter((t) => !failed.includes(t));
        const error = `asset "${asset.name}" (${asset.sha256.slice(0, 12)}…) could not be loaded: ${describeError(err)}`;
        for (const task of failed) this.events.done(task, { ok: false, error, ms: 0 });
        this.events.changed();
      },
    );
  }

  abort(a: string): boolean {
    const k = this.waiting.findIndex((t) => t.a === a);
    if (k < 0) return this.inner.abort(a);
    this.waiting.splice(k, 1);
    this.events.changed();
    return true;
  }

  /** Waiting leases go first: they are furthest from running. */
  takeQueued(n = this.queued): PoolTask[] {
    const fromWaiting = n > 0 ? this.waiting.splice(Math.max(0, this.waiting.length - n)) : [];
    const rest = n - fromWaiting.length;
    return rest > 0 ? [...fromWaiting, ...this.inner.takeQueued(rest)] : fromWaiting;
  }

  reset(): PoolTask[] {
    const waiting = this.waiting;
    this.waiting = [];
    return [...this.inner.reset(), ...waiting];
  }
}
