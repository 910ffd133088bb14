/**
 * The hot calls to the store thread (commit, claimTasks) in columns. postMessage clones an array of small
 * objects one object at a time; the same data as typed arrays and arrays of primitives crosses in a fraction
 * of the time (for a batch of 500 writes: 0.4 µs a write instead of 2-4, each side; BENCHMARKS.md, issue 13).
 * Everything else crosses as it is. The arrays of values are built by push, never `new Array(n)`: V8's
 * serializer sends a holey array as a sparse one, key by key, several times slower to clone both ways.
 */
import type { AttemptWrite, ClaimedTask, CommitBatch, CommitReceipt, FinalAttempt, TaskWrite } from './store.ts';
import type { Vote } from '../validation/quorum.ts';

const KINDS = ['done', 'failed', 'retry'] as const;
const ENDS = ['done', 'failed', 'expired', 'lost', 'released', 'cancelled', 'settled'] as const;

/** Job ids once each, and per row the position of its job. */
function jobTable(ids: Iterable<string>): { jobs: string[]; of: (id: string) => number } {
  const jobs: string[] = [];
  const at = new Map<string, number>();
  for (const id of ids) {
    if (at.has(id)) continue;
    at.set(id, jobs.length);
    jobs.push(id);
  }
  return { jobs, of: (id) => at.get(id)! };
}

interface PackedTasks {
  jobs: string[];
  job: Uint32Array;
  kind: Uint8Array;
  index: Int32Array;
  failures: Int32Array;
  losses: Int32Array;
  /** done: the output; failed and retry: the error. */
  value: unknown[];
  /** Done writes that carry the attempt that made them so (D6): its id (null: none), volunteer and times. */
  byAttempt: (string | null)[];
  byVolunteer: (string | null)[];
  byLeasedAt: Float64Array;
  byEndedAt: Float64Array;
}

interface PackedAttempts {
  jobs: string[];
  job: Uint32Array;
  index: Int32Array;
  attempt: string[];
  volunteer: string[];
  leasedAt: Float64Array;
  endedAt: Float64Array;
  end: Uint8Array;
  error: (string | null)[];
}

export interface PackedBatch extends Omit<CommitBatch, 'tasks' | 'attempts'> {
  tasks: PackedTasks;
  attempts: PackedAttempts;
}

function packTasks(ws: readonly TaskWrite[]): PackedTasks {
  const n = ws.length;
  const { jobs, of } = jobTable(ws.map((w) => w.job));
  const p: PackedTasks = {
    jobs,
    job: new Uint32Array(n),
    kind: new Uint8Array(n),
    index: new Int32Array(n),
    failures: new Int32Array(n),
    losses: new Int32Array(n),
    value: [],
    byAttempt: [],
    byVolunteer: [],
    byLeasedAt: new Float64Array(n),
    byEndedAt: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const w = ws[i]!;
    p.job[i] = of(w.job);
    p.kind[i] = KINDS.indexOf(w.kind);
    p.index[i] = w.index;
    p.failures[i] = w.failures;
    p.losses[i] = w.losses;
    p.value.push(w.kind === 'done' ? w.output : w.error);
    const by = w.kind === 'done' ? w.by : undefined;
    p.byAttempt.push(by?.attempt ?? null);
    p.byVolunteer.push(by?.volunteer ?? null);
    p.byLeasedAt[i] = by?.leasedAt ?? 0;
    p.byEndedAt[i] = by?.endedAt ?? 0;
  }
  return p;
}

/** Each row an object literal of one shape per kind (no spreads: they build objects property by property). */
function unpackTasks(p: PackedTasks): TaskWrite[] {
  const out: TaskWrite[] = [];
  for (let i = 0; i < p.kind.length; i++) {
    const job = p.jobs[p.job[i]!]!;
    const kind = KINDS[p.kind[i]!]!;
    if (kind === 'done') {
      const attempt = p.byAttempt[i];
      const by: FinalAttempt | undefined = attempt == null ? undefined : { attempt, volunteer: p.byVolunteer[i]!, leasedAt: p.byLeasedAt[i]!, endedAt: p.byEndedAt[i]! };
      out.push({ kind, job, index: p.index[i]!, failures: p.failures[i]!, losses: p.losses[i]!, output: p.value[i], by });
    } else out.push({ kind, job, index: p.index[i]!, failures: p.failures[i]!, losses: p.losses[i]!, error: p.value[i] as string });
  }
  return out;
}

function packAttempts(as: readonly AttemptWrite[]): PackedAttempts {
  const n = as.length;
  const { jobs, of } = jobTable(as.map((a) => a.job));
  const p: PackedAttempts = { jobs, job: new Uint32Array(n), index: new Int32Array(n), attempt: [], volunteer: [], leasedAt: new Float64Array(n), endedAt: new Float64Array(n), end: new Uint8Array(n), error: [] };
  for (let i = 0; i < n; i++) {
    const a = as[i]!;
    p.job[i] = of(a.job);
    p.index[i] = a.index;
    p.attempt.push(a.attempt);
    p.volunteer.push(a.volunteer);
    p.leasedAt[i] = a.leasedAt;
    p.endedAt[i] = a.endedAt;
    p.end[i] = ENDS.indexOf(a.end);
    p.error.push(a.error);
  }
  return p;
}

function unpackAttempts(p: PackedAttempts): AttemptWrite[] {
  const out: AttemptWrite[] = [];
  for (let i = 0; i < p.index.length; i++) {
    out.push({ job: p.jobs[p.job[i]!]!, index: p.index[i]!, attempt: p.attempt[i]!, volunteer: p.volunteer[i]!, leasedAt: p.leasedAt[i]!, endedAt: p.endedAt[i]!, end: ENDS[p.end[i]!]!, error: p.error[i]! });
  }
  return out;
}

export function packBatch(b: CommitBatch): PackedBatch {
  return { ...b, tasks: packTasks(b.tasks), attempts: packAttempts(b.attempts) };
}

export function unpackBatch(p: PackedBatch): CommitBatch {
  return { ...p, tasks: unpackTasks(p.tasks), attempts: unpackAttempts(p.attempts) };
}

export interface PackedReceipt extends Omit<CommitReceipt, 'applied' | 'votes'> {
  applied: Uint8Array;
  votes: Uint8Array;
}

export const packReceipt = (r: CommitReceipt): PackedReceipt => ({ ...r, applied: Uint8Array.from(r.applied, Number), votes: Uint8Array.from(r.votes, Number) });
export const unpackReceipt = (p: PackedReceipt): CommitReceipt => ({ ...p, applied: Array.from(p.applied, Boolean), votes: Array.from(p.votes, Boolean) });

export interface PackedClaims {
  index: Int32Array;
  input: unknown[];
  failures: Int32Array;
  losses: Int32Array;
  error: (string | null)[];
  votes: Array<Vote[] | undefined>;
}

export function packClaims(ts: readonly ClaimedTask[]): PackedClaims {
  const n = ts.length;
  const p: PackedClaims = { index: new Int32Array(n), input: [], failures: new Int32Array(n), losses: new Int32Array(n), error: [], votes: [] };
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    p.index[i] = t.index;
    p.input.push(t.input);
    p.failures[i] = t.failures;
    p.losses[i] = t.losses;
    p.error.push(t.error);
    p.votes.push(t.votes);
  }
  return p;
}

export function unpackClaims(p: PackedClaims): ClaimedTask[] {
  const out: ClaimedTask[] = [];
  for (let i = 0; i < p.index.length; i++) {
    const t: ClaimedTask = { index: p.index[i]!, input: p.input[i], failures: p.failures[i]!, losses: p.losses[i]!, error: p.error[i]! };
    const votes = p.votes[i];
    if (votes) t.votes = votes;
    out.push(t);
  }
  return out;
}
