/** Test doubles shared by the scheduler and hub tests: a fake clock, a recording journal, a fake socket port. */
import type { MasterMessage, ResultLine } from '@barnraise/shared';
import type { Clock } from '../scheduler/clock.ts';
import type { AttemptEnd, Journal, LeaseCore } from '../scheduler/lease.ts';
import { FairQueue } from '../scheduler/queue.ts';
import { JobState, VolunteerState, type Attempt, type JobSpec, type VolunteerPort } from '../scheduler/state.ts';

export class FakeClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export class RecordingJournal implements Journal {
  readonly finishedLines: ResultLine[] = [];
  readonly requeues: Array<{ job: string; index: number }> = [];
  touches = 0;
  finished(_job: JobState, line: ResultLine, _attempt: Attempt | null): void {
    this.finishedLines.push(line);
  }
  requeued(job: JobState, index: number): void {
    this.requeues.push({ job: job.id, index });
  }
  touched(): void {
    this.touches++;
  }
  readonly ended: Array<{ id: string; end: AttemptEnd; error: string | null }> = [];
  attemptEnded(a: Attempt, end: AttemptEnd, error: string | null): void {
    this.ended.push({ id: a.id, end, error });
  }
}

export class FakePort implements VolunteerPort {
  readonly sent: MasterMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  /** What `backlog()` reports: set it to play a volunteer that stopped reading. */
  unsent = 0;
  backlog(): number {
    return this.unsent;
  }
  send(msg: MasterMessage): void {
    this.sent.push(msg);
  }
  sendEncoded(frame: Buffer): void {
    this.sent.push(JSON.parse(frame.toString()) as MasterMessage);
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  of<T extends MasterMessage['type']>(type: T): Array<Extract<MasterMessage, { type: T }>> {
    return this.sent.filter((m): m is Extract<MasterMessage, { type: T }> => m.type === type);
  }
}

let jobSeq = 0;

export function jobSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  jobSeq++;
  return {
    id: `job${jobSeq}`,
    name: `job ${jobSeq}`,
    code: 'export default (n) => n + 1',
    priority: 0,
    timeoutMs: 1000,
    maxAttempts: 3,
    maxLosses: 3,
    total: 4,
    createdAt: jobSeq,
    ...overrides,
  };
}

/** A lease core over a fresh queue, with the given jobs added. */
export function leaseCore(clock: FakeClock, ...jobs: JobState[]): LeaseCore & { journal: RecordingJournal } {
  const queue = new FairQueue();
  for (const j of jobs) queue.add(j);
  let n = 0;
  return { clock, journal: new RecordingJournal(), queue, attempts: new Map(), graceMs: 100, newAttemptId: () => `a${n++}` };
}

/** A job whose every task this master has claimed (K1), input i being i. */
export function makeJob(overrides: Partial<JobSpec> = {}): JobState {
  const spec = jobSpec(overrides);
  const job = new JobState(spec);
  job.claimed(Array.from({ length: spec.total }, (_, index) => ({ index, input: index, failures: 0, losses: 0, error: null })));
  return job;
}

export function volunteer(threads = 1, credits = 0, now = 1_000_000): VolunteerState & { port: FakePort } {
  const v = new VolunteerState(`v${Math.random().toString(36).slice(2, 8)}`, new FakePort(), threads, 'node', 'test', now);
  v.credits = credits;
  return v as VolunteerState & { port: FakePort };
}
