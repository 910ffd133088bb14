/** The operator's event log: a bounded ring of what happened, fed by the scheduler's activity events. */
import { EventKind, type EventRow } from '@barnraise/shared';
import type { Activity } from '../scheduler/scheduler.ts';

export class EventLog {
  private readonly ring: EventRow[] = [];
  private seq = 0;

  constructor(private readonly capacity = 500) {}

  /** Keep a row; it carries its seq from the cluster's log (K7), or gets the next one here. */
  add(row: Omit<EventRow, 'seq'> & { seq?: number }): EventRow {
    const full = { ...row, seq: row.seq ?? this.seq + 1 };
    this.seq = Math.max(this.seq, full.seq);
    this.ring.push(full);
    if (this.ring.length > this.capacity) this.ring.shift();
    return full;
  }

  /** Events with seq > `after`, oldest first (at most the ring's capacity). */
  since(after: number): EventRow[] {
    if (this.ring.length === 0 || this.ring[this.ring.length - 1]!.seq <= after) return [];
    const first = this.ring.findIndex((e) => e.seq > after);
    return this.ring.slice(first);
  }

  get lastSeq(): number {
    return this.seq;
  }

  get size(): number {
    return this.ring.length;
  }
}

const reasons = {
  closed: 'closed its connection',
  heartbeat: 'went silent (heartbeat lapsed)',
  shutdown: 'was released at shutdown',
  violation: 'broke the protocol',
  banned: 'was banned',
} as const;

/** One line of the log for an activity. */
export function describe(a: Activity, t: number): Omit<EventRow, 'seq'> {
  switch (a.kind) {
    case 'volunteer-joined':
      return { t, kind: EventKind.volunteerJoined, volunteer: a.volunteer, text: `${a.volunteer} joined (${a.agent}, ${a.threads} thread${a.threads === 1 ? '' : 's'})` };
    case 'volunteer-left':
      return {
        t,
        kind: EventKind.volunteerLeft,
        volunteer: a.volunteer,
        text: `${a.volunteer} left: ${reasons[a.reason]}${a.requeued ? `; ${a.requeued} lease${a.requeued === 1 ? '' : 's'} requeued` : ''}`,
      };
    case 'lease-expired':
      return { t, kind: EventKind.leaseExpired, volunteer: a.volunteer, job: a.job, text: `task ${a.index} of ${a.job} passed its deadline on ${a.volunteer}; requeued as a failed attempt` };
    case 'task-failed':
      return { t, kind: EventKind.taskFailed, job: a.job, text: `task ${a.index} of ${a.job} failed: ${a.error.slice(0, 200)}` };
    case 'job-created':
      return { t, kind: EventKind.jobCreated, job: a.job, text: `job ${a.name} submitted (${a.total} task${a.total === 1 ? '' : 's'})` };
    case 'job-finished':
      return { t, kind: EventKind.jobFinished, job: a.job, text: `job ${a.name} ${a.status}` };
    case 'identity-banned':
      return {
        t,
        kind: EventKind.identityBanned,
        identity: a.identity,
        text: `identity ${a.identity} banned: ${a.reason}${a.rolledBack ? `; ${a.rolledBack} provisional result${a.rolledBack === 1 ? '' : 's'} rolled back for validation` : ''}${a.closed ? `; ${a.closed} connection${a.closed === 1 ? '' : 's'} closed` : ''}`,
      };
    case 'identity-trusted':
      return { t, kind: EventKind.identityTrusted, identity: a.identity, text: `identity ${a.identity} is trusted: it passed its checks` };
    case 'task-inconclusive':
      return { t, kind: EventKind.taskInconclusive, job: a.job, text: `task ${a.index} of ${a.job} is inconclusive: ${a.error.slice(0, 200)}` };
  }
}
