/**
 * One group commit in one SQLite transaction (rule D2), fenced by the writing master's claims (K4): votes and
 * verdicts first (they need the task still pending and held), then the task writes (a final one numbers the
 * task in its job's commit order, K6), then each touched job's counters by increments and the status they
 * imply (K5: a job completes in the commit of its last final task), then identities, attempts and events.
 */
import type { CommitBatch, CommitReceipt, IdentityRecord, JobCounters } from '../store.ts';
import { applyTrustEvent } from '../../validation/trust.ts';
import { identityParams, toCounters, toIdentity, type IdentityRow, type JobRow } from './rows.ts';
import type { ClaimBook } from './claims.ts';
import type { Statements } from './statements.ts';

interface JobTally {
  done: number;
  failed: number;
  requeues: number;
  replicas: number;
  inconclusive: number;
  startedAt: number | undefined;
  fin: number | undefined;
}

/** What a commit did to claims: the tasks it made final, for the claim book once the transaction is durable. */
export interface Applied {
  receipt: CommitReceipt;
  ended: Array<[seq: number, index: number]>;
}

export function applyCommit(s: Statements, seqOf: (jobId: string) => number | undefined, batch: CommitBatch, claims: ClaimBook): Applied {
  const owner = batch.owner;
  const ended: Applied['ended'] = [];
  const at = batch.at ?? Date.now();
  const tallies = new Map<number, JobTally>();
  const rows = new Map<number, JobRow>();
  const tally = (seq: number): JobTally => {
    let t = tallies.get(seq);
    if (!t) tallies.set(seq, (t = { done: 0, failed: 0, requeues: 0, replicas: 0, inconclusive: 0, startedAt: undefined, fin: undefined }));
    return t;
  };
  const holds = (seq: number, index: number) => !owner || claims.holds(seq, index, owner);

  // Votes (fenced: only the holder of the pending task writes them); checks are about an identity, not a task.
  const votes = (batch.replicas ?? []).map((r) => {
    const seq = seqOf(r.job);
    if (seq === undefined || (r.kind === 'vote' && !holds(seq, r.index))) return false;
    s.insertReplica.run(seq, r.attempt, r.index, r.identity, r.network, r.kind, r.ok ? 1 : 0, r.hash, r.ok ? JSON.stringify(r.output ?? null) : null, r.error, r.at, r.verdict);
    return true;
  });
  for (const v of batch.verdicts ?? []) {
    const seq = seqOf(v.job);
    if (seq !== undefined && holds(seq, v.index)) s.setVerdict.run(v.verdict, seq, v.attempt);
  }

  const applied = batch.tasks.map((w) => {
    const seq = seqOf(w.job);
    if (seq === undefined) return false;
    const t = tally(seq);
    if (!holds(seq, w.index)) return false;
    if (w.kind === 'retry') return s.retry.run(w.failures, w.losses, w.error, seq, w.index).changes > 0;
    if (t.fin === undefined) t.fin = jobRow(s, rows, seq).fin;
    const fin = t.fin + 1;
    const changed =
      w.kind === 'done'
        ? s.done.run(JSON.stringify(w.output ?? null), w.failures, w.losses, fin, w.by?.attempt ?? null, w.by?.volunteer ?? null, w.by?.leasedAt ?? null, w.by?.endedAt ?? null, seq, w.index).changes
        : s.failed.run(w.error, w.failures, w.losses, fin, seq, w.index).changes;
    if (changed === 0) return false;
    ended.push([seq, w.index]);
    t.fin = fin;
    if (w.kind === 'done') t.done++;
    else t.failed++;
    return true;
  });

  for (const d of batch.jobs) {
    const seq = seqOf(d.id);
    if (seq === undefined) continue;
    const t = tally(seq);
    t.requeues += d.requeues;
    t.replicas += d.replicas;
    t.inconclusive += d.inconclusive;
    if (d.startedAt !== undefined) t.startedAt = Math.min(t.startedAt ?? d.startedAt, d.startedAt);
  }
  const jobs: JobCounters[] = [];
  for (const [seq, t] of tallies) {
    const r = jobRow(s, rows, seq);
    const done = r.done + t.done;
    const failed = r.failed + t.failed;
    const live = r.status === 'queued' || r.status === 'running';
    const complete = live && done + failed >= r.total;
    const status = complete ? 'completed' : live && (t.startedAt !== undefined || r.status === 'running' || t.done + t.failed > 0) ? 'running' : r.status;
    const startedAt = r.started_at ?? (status === 'queued' ? null : (t.startedAt ?? at));
    const finishedAt = complete ? at : r.finished_at;
    s.updateJob.run({ seq, done: t.done, failed: t.failed, requeues: t.requeues, replicas: t.replicas, inconclusive: t.inconclusive, fin: t.fin ?? r.fin, status, startedAt, finishedAt });
    const after = s.jobBySeq.get(seq) as JobRow;
    jobs.push(toCounters(after));
  }

  const identities = new Map<string, IdentityRecord>();
  for (const e of batch.identities ?? []) {
    const stored = identities.get(e.id) ?? (s.getIdentity.get(e.id) as IdentityRow | undefined);
    const before = stored && 'created_at' in stored ? toIdentity(stored) : (stored as IdentityRecord | undefined);
    const after = applyTrustEvent(before, e);
    if (!after) continue;
    if (after !== before) s.upsertIdentity.run(identityParams(after));
    identities.set(after.id, after);
  }

  for (const a of batch.attempts) {
    const seq = seqOf(a.job);
    if (seq !== undefined) s.insertAttempt.run(seq, a.index, a.attempt, a.volunteer, a.leasedAt, a.endedAt, a.end, a.error);
  }
  for (const e of batch.events ?? []) s.insertEvent.run({ job: null, volunteer: null, identity: null, ...e });
  return { receipt: { applied, votes, jobs, identities: [...identities.values()] }, ended };
}

function jobRow(s: Statements, rows: Map<number, JobRow>, seq: number): JobRow {
  let r = rows.get(seq);
  if (!r) rows.set(seq, (r = s.jobBySeq.get(seq) as JobRow));
  return r;
}
