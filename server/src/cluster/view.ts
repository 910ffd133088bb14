/**
 * The whole cluster in one view (SPEC.md K7): every live master's totals as it published them with its
 * beat, and pages of their volunteers read from them over their own REST API (they share the operator
 * token). One master alone sees only itself, at no cost.
 */
import type { VolunteerPage, VolunteerRow } from '@barnraise/shared';
import type { SwarmStats } from '../scheduler/scheduler.ts';
import type { MasterRow, Store } from '../store/store.ts';

export interface ClusterViewOptions {
  store: Store;
  /** This master's id. */
  self: () => string;
  ttlMs: number;
  token: string;
  onError(err: unknown): void;
}

export class ClusterView {
  private others: MasterRow[] = [];
  /** Volunteer rows of other masters, by master, for the page last asked for. */
  private remote = new Map<string, { offset: number; limit: number; rows: VolunteerRow[] }>();
  private fetching: Promise<void> | null = null;

  constructor(private readonly opts: ClusterViewOptions) {}

  /** The other live masters, as of the last refresh. */
  get peers(): readonly MasterRow[] {
    return this.others;
  }

  /** Read the live masters (every beat). */
  async refresh(): Promise<void> {
    const self = this.opts.self();
    this.others = (await this.opts.store.liveMasters(this.opts.ttlMs)).filter((m) => m.id !== self);
    for (const id of this.remote.keys()) if (!this.others.some((m) => m.id === id)) this.remote.delete(id);
  }

  /** [K7] Swarm totals over the cluster: this master's own, live, and the others' as they last beat. */
  stats(local: SwarmStats): SwarmStats {
    const s = { ...local };
    for (const m of this.others) {
      s.volunteers += m.stats.volunteers;
      s.threads += m.stats.threads;
      s.tasksPerSecond += m.stats.tasksPerSecond;
      s.tasksDone += m.stats.tasksDone;
      s.leased += m.stats.leased;
      s.queued = Math.max(0, s.queued - m.stats.leased);
    }
    return s;
  }

  /**
   * [K7] A page of the cluster's volunteers: this master's first, then each other master's in turn. Rows of
   * other masters are those read last (at most a refresh old); `fetch` brings them up to date.
   */
  page(local: VolunteerRow[], localCount: number, offset: number, limit: number): VolunteerPage {
    const total = localCount + this.others.reduce((n, m) => n + m.stats.volunteers, 0);
    const rows = local.slice(offset, offset + limit);
    let skip = Math.max(0, offset - localCount);
    for (const m of this.others) {
      if (rows.length >= limit) break;
      const count = m.stats.volunteers;
      if (skip >= count) {
        skip -= count;
        continue;
      }
      const cached = this.remote.get(m.id);
      if (cached && cached.offset === skip) rows.push(...cached.rows.slice(0, limit - rows.length));
      skip = 0;
    }
    return { total, offset, rows };
  }

  /** Read the other masters' part of this page (coalesced: one read at a time). */
  fetch(localCount: number, offset: number, limit: number): Promise<void> {
    if (this.others.length === 0) return Promise.resolve();
    this.fetching ??= this.read(localCount, offset, limit).finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async read(localCount: number, offset: number, limit: number): Promise<void> {
    let want = Math.max(0, limit - Math.max(0, localCount - offset));
    let skip = Math.max(0, offset - localCount);
    for (const m of this.others) {
      if (want <= 0) break;
      const count = m.stats.volunteers;
      if (skip >= count) {
        skip -= count;
        continue;
      }
      const n = Math.min(want, count - skip);
      try {
        const res = await fetch(`${m.url}/api/volunteers?local=true&offset=${skip}&limit=${n}`, {
          headers: { authorization: `Bearer ${this.opts.token}` },
          signal: AbortSignal.timeout(2000),
        });
        if (res.ok) this.remote.set(m.id, { offset: skip, limit: n, rows: ((await res.json()) as VolunteerPage).rows });
      } catch (err) {
        this.opts.onError(err);
      }
      want -= n;
      skip = 0;
    }
  }
}
