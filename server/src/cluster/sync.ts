/**
 * Every master knows every active job (SPEC.md K7): a job submitted to another master, cancelled or retried
 * there, or finished by the others' results, reaches this one within `everyMs` from the store, and sooner
 * when the store tells of the change (`poke`, PostgreSQL's notifications). Claims (K1) then bring its tasks
 * here as volunteers here want them.
 */
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { Store } from '../store/store.ts';

export class JobSync {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** A change was told while a sync ran: it may have read the jobs before the change, so one more follows. */
  private again = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly opts: { everyMs: number; live: () => boolean; onError(err: unknown): void },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One sync (also at start, before volunteers come). */
  tick(): Promise<void> {
    this.running ??= this.sync()
      .catch((err: unknown) => this.opts.onError(err))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          void this.tick();
        }
      });
    return this.running;
  }

  /** The store says the jobs changed: sync now (once more after a sync already running; many pokes, one sync). */
  poke(): void {
    if (this.running) this.again = true;
    else void this.tick();
  }

  private async sync(): Promise<void> {
    if (!this.opts.live()) return;
    const active = await this.store.activeJobs();
    const seen = new Set<string>();
    for (const c of active) {
      seen.add(c.id);
      if (!this.scheduler.jobs.has(c.id)) {
        const record = await this.store.getJob(c.id);
        if (!record || (record.status !== 'queued' && record.status !== 'running')) continue;
        const checks = record.validation ? await this.store.jobChecks(c.id) : [];
        this.scheduler.addJob(record, 0, checks, c);
      } else this.scheduler.synced(c);
    }
    // Jobs this master holds that are no longer active: cancelled or completed elsewhere.
    for (const job of [...this.scheduler.jobs.values()]) {
      if (seen.has(job.id) || job.isFinished()) continue;
      const record = await this.store.getJob(job.id);
      if (record && record.status !== 'queued' && record.status !== 'running') this.scheduler.synced({ ...record, fin: record.fin ?? 0 });
    }
  }
}
