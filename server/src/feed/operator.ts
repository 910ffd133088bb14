/** What the operator's dashboard reads: job rows with rates, volunteer pages, job detail, retries. */
import { pythonSourceOf } from '../python/job.ts';
import type { IdentityPage, IdentityRow, JobRow, JobSummary, ResultLine, VolunteerPage, VolunteerRow } from '@barnraise/shared';
import { ApiError } from '../errors.ts';
import type { JobsService } from '../jobs/service.ts';
import { summaryOfState } from '../jobs/summary.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { JobState, VolunteerState } from '../scheduler/state.ts';
import type { IdentityRecord, Store, TaskDetail } from '../store/store.ts';
import { trustLabel } from '../validation/trust.ts';
import type { ClusterView } from '../cluster/view.ts';
import { EventCursor } from '../cluster/event-cursor.ts';
import { agentFamily } from './agent.ts';
import { EventLog, describe } from './events.ts';
import { Metrics } from './metrics.ts';

export interface JobDetail {
  summary: JobSummary;
  code: string;
  /** The first few results and the first few errors, in index order. */
  sample: ResultLine[];
  errors: ResultLine[];
}

const SAMPLE = 10;
/** How long a gap in the event log's numbers is waited for (K9). */
const EVENT_GAP_MS = 5000;

export class OperatorView {
  readonly events = new EventLog(500);
  readonly metrics = new Metrics();
  private readonly families = new WeakMap<VolunteerState, { browser: string; os: string }>();

  /** Where this master is in the cluster's event log (K7, K9). */
  private readonly cursor = new EventCursor(0, EVENT_GAP_MS);
  private pulling: Promise<void> | null = null;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly jobs: JobsService,
    private readonly cluster: ClusterView,
    /** This master's id, on its lines of the cluster's event log. */
    private readonly master: () => string,
    /** Bring jobs of the store into this master now (the job sync), when one it does not hold changes. */
    private readonly sync?: () => Promise<void>,
  ) {
    // [K7] What happens here goes to the cluster's log (with the group commits); every master reads it back.
    scheduler.events.on('activity', (a) => scheduler.writer.event({ ...describe(a, scheduler.clock.now()), master: this.master() }));
  }

  /**
   * [K7] Read the cluster's event log on from where this master is: for the dashboard, and to act at once on
   * what other masters did (a ban closes this master's connections of the identity; a cancel stops its leases).
   */
  pullEvents(): Promise<void> {
    this.pulling ??= (async () => {
      for (let k = 0; k < 10; k++) {
        const rows = await this.store.eventsSince(this.cursor.after, 500);
        for (const { master, ...row } of this.cursor.take(rows)) {
          this.events.add(row);
          if (master !== this.master()) await this.remote(row);
        }
        if (rows.length < 500) return;
      }
    })().finally(() => (this.pulling = null));
    return this.pulling;
  }

  private async remote(row: { kind: string; identity?: string; job?: string }): Promise<void> {
    if (row.kind === 'identity-banned' && row.identity && this.scheduler.book.get(row.identity)) {
      const stored = await this.store.getIdentity(row.identity);
      if (stored) this.scheduler.book.refresh(stored);
    }
  }

  /** Called once a second. */
  sample(): number {
    const s = this.scheduler;
    return this.metrics.sample(s.stats().tasksDone, s.jobs.values(), s.volunteers.values());
  }

  jobRow(job: JobState): JobRow {
    const summary = summaryOfState(job);
    const rate = this.metrics.jobRate(job);
    const left = job.spec.total - job.counts.done - job.counts.failed;
    return { ...summary, tasksPerSecond: rate, etaSeconds: job.isFinished() ? 0 : rate > 0 ? Math.round(left / rate) : null };
  }

  /** A finished job's row, from its summary (it is no longer in memory). */
  static finishedRow(summary: JobSummary): JobRow {
    return { ...summary, tasksPerSecond: 0, etaSeconds: 0 };
  }

  volunteerRow(v: VolunteerState): VolunteerRow {
    let family = this.families.get(v);
    if (!family) this.families.set(v, (family = agentFamily(v.ua)));
    const now = this.scheduler.clock.now();
    return {
      id: v.id,
      agent: v.agent,
      browser: family.browser,
      os: family.os,
      threads: v.threads,
      tasksDone: v.tasksDone,
      tasksPerSecond: this.metrics.volunteerRate(v),
      leases: v.attempts.size,
      heartbeatAgeMs: now - v.lastSeen,
      connectedAt: new Date(v.connectedAt).toISOString(),
      hidden: v.hidden,
      ...this.trustOf(v.identity),
    };
  }

  private trustOf(identity: string | null): Pick<VolunteerRow, 'identity' | 'trust' | 'checksPassed'> {
    if (identity === null) return { trust: 'anonymous', checksPassed: 0 };
    const book = this.scheduler.book;
    const r = book.get(identity);
    return { identity, trust: trustLabel(r, book.policy), checksPassed: r?.checksPassed ?? 0 };
  }

  private identityRow(r: IdentityRecord): IdentityRow {
    const book = this.scheduler.book;
    const live = book.get(r.id) ?? r;
    let connections = 0;
    for (const v of this.scheduler.volunteers.values()) if (v.identity === r.id) connections++;
    return {
      id: live.id,
      trust: trustLabel(live, book.policy),
      vouched: live.vouched,
      network: live.network,
      streak: live.streak,
      checksPassed: live.checksPassed,
      checksFailed: live.checksFailed,
      createdAt: new Date(live.createdAt).toISOString(),
      bannedAt: live.bannedAt === null ? null : new Date(live.bannedAt).toISOString(),
      banReason: live.banReason,
      connections,
    };
  }

  /** Identities, newest first (section V). */
  async identitiesPage(offset: number, limit: number): Promise<IdentityPage> {
    await this.scheduler.writer.flush();
    const page = await this.store.listIdentities(offset, limit);
    return { total: page.total, offset, rows: page.rows.map((r) => this.identityRow(r)) };
  }

  async identity(id: string): Promise<IdentityRow> {
    return this.identityRow(await this.held(id));
  }

  /** [V5] The operator bans an identity: its connections close and its unsettled votes are rolled back. */
  async ban(id: string, reason: string): Promise<IdentityRow> {
    await this.held(id);
    this.scheduler.banIdentity(id, `operator: ${reason}`);
    await this.scheduler.writer.flush();
    return this.identity(id);
  }

  /** [V3] The operator vouches for an identity (its own machine): trusted from now on, a ban lifted. */
  async vouch(id: string): Promise<IdentityRow> {
    await this.held(id);
    this.scheduler.book.vouch(id);
    await this.scheduler.writer.flush();
    return this.identity(id);
  }

  /** A banned identity gets a fresh start: untrusted, no streak. */
  async reinstate(id: string): Promise<IdentityRow> {
    await this.held(id);
    this.scheduler.book.reinstate(id);
    await this.scheduler.writer.flush();
    return this.identity(id);
  }

  /** The identity's record, held in the trust book (loaded from the store when it is not). */
  private async held(id: string): Promise<IdentityRecord> {
    const known = this.scheduler.book.get(id);
    if (known) return known;
    const stored = await this.store.getIdentity(id);
    if (!stored) throw new ApiError('IDENTITY_NOT_FOUND');
    return this.scheduler.book.hold(stored);
  }

  /** One page of this master's volunteers, in order of arrival. */
  localVolunteers(offset: number, limit: number): VolunteerPage {
    const rows: VolunteerRow[] = [];
    let i = 0;
    for (const v of this.scheduler.volunteers.values()) {
      if (i++ < offset) continue;
      if (rows.length >= limit) break;
      rows.push(this.volunteerRow(v));
    }
    return { total: this.scheduler.volunteers.size, offset, rows };
  }

  /** [K7] One page of the cluster's volunteers: this master's, then the others' (read from them). */
  volunteersPage(offset: number, limit: number): VolunteerPage {
    const local = this.localVolunteers(0, offset + limit).rows;
    void this.cluster.fetch(this.scheduler.volunteers.size, offset, limit);
    return this.cluster.page(local, this.scheduler.volunteers.size, offset, limit);
  }

  async detail(id: string): Promise<JobDetail> {
    const summary = await this.jobs.get(id);
    const record = await this.store.getJob(id);
    if (!record) throw new ApiError('JOB_NOT_FOUND');
    const [sample, errors] = await Promise.all([this.store.sampleResults(id, 'done', SAMPLE), this.store.sampleResults(id, 'failed', SAMPLE)]);
    // [Y3] A Python job shows the Python its operator wrote, not the module the master generated to run it.
    return { summary, code: pythonSourceOf(record.code) ?? record.code, sample, errors };
  }

  async task(id: string, index: number): Promise<TaskDetail> {
    await this.jobs.get(id);
    await this.scheduler.writer.flush();
    const detail = await this.store.taskDetail(id, index);
    if (!detail) throw new ApiError('BAD_REQUEST', `job ${id} has no task ${index}`);
    return detail;
  }

  /** [J4] Queue a job's failed tasks again; 409 for a cancelled job. */
  async retryFailed(id: string): Promise<JobSummary> {
    await this.scheduler.writer.flush();
    const summary = await this.jobs.get(id);
    if (summary.status === 'cancelled') throw new ApiError('JOB_FINISHED', 'a cancelled job cannot be retried');
    const reset = await this.store.resetFailed(id);
    if (reset > 0) {
      // Live here: its reset tasks may be claimed again now. Finished and gone from memory: the next sync brings it back (K7).
      if (this.scheduler.jobs.has(id)) this.scheduler.reopen(id);
      else await this.sync?.();
    }
    return this.jobs.get(id);
  }
}
