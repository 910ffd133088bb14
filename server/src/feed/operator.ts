/** What the operator's dashboard reads: job rows with rates, volunteer pages, job detail, retries. */
import type { JobRow, JobSummary, ResultLine, VolunteerPage, VolunteerRow } from '@barnraise/shared';
import { ApiError } from '../errors.ts';
import type { JobsService } from '../jobs/service.ts';
import { summaryOfState } from '../jobs/summary.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { JobState, VolunteerState } from '../scheduler/state.ts';
import type { Store, TaskDetail } from '../store/store.ts';
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

export class OperatorView {
  readonly events = new EventLog(500);
  readonly metrics = new Metrics();
  private readonly families = new WeakMap<VolunteerState, { browser: string; os: string }>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly jobs: JobsService,
  ) {
    scheduler.events.on('activity', (a) => this.events.add(describe(a, scheduler.clock.now())));
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
    };
  }

  /** One page of the volunteers table, in order of arrival. */
  volunteersPage(offset: number, limit: number): VolunteerPage {
    const rows: VolunteerRow[] = [];
    let i = 0;
    for (const v of this.scheduler.volunteers.values()) {
      if (i++ < offset) continue;
      if (rows.length >= limit) break;
      rows.push(this.volunteerRow(v));
    }
    return { total: this.scheduler.volunteers.size, offset, rows };
  }

  async detail(id: string): Promise<JobDetail> {
    const summary = await this.jobs.get(id);
    const record = await this.store.getJob(id);
    if (!record) throw new ApiError('JOB_NOT_FOUND');
    const [sample, errors] = await Promise.all([this.store.sampleResults(id, 'done', SAMPLE), this.store.sampleResults(id, 'failed', SAMPLE)]);
    return { summary, code: record.code, sample, errors };
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
    if (reset.length > 0) {
      const reloaded = this.scheduler.jobs.has(id) ? undefined : await this.store.loadJob(id);
      this.scheduler.reopen(id, reset, reloaded);
    }
    return this.jobs.get(id);
  }
}
