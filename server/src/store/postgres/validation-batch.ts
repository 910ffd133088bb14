/**
 * A group commit's validation writes (section V) as the column arrays of their statements: replica rows,
 * verdicts folded to the last per replica, identities folded to the last record per id. Writes of jobs
 * `seqOf` does not know, and indexes no row can have, are dropped, as task writes are (batch.ts).
 */
import type { IdentityRecord, ReplicaWrite, VerdictWrite } from '../store.ts';
import { int4, pgText } from './rows.ts';
import type { IdentityColumns } from './sql/identities.ts';
import type { ReplicaColumns, VerdictColumns } from './sql/replicas.ts';

type SeqOf = (jobId: string) => number | undefined;

/** Replica rows to insert, and how many of them each job (by seq) sent. */
export function replicaColumns(writes: readonly ReplicaWrite[], seqOf: SeqOf): { columns: ReplicaColumns; sent: Map<number, number> } {
  const c: ReplicaColumns = { jobSeqs: [], attempts: [], indexes: [], ok: [], at: [], identities: [], networks: [], kinds: [], hashes: [], verdicts: [], outputs: [], errors: [] };
  const sent = new Map<number, number>();
  for (const r of writes) {
    const seq = seqOf(r.job);
    if (seq === undefined || !int4(r.index)) continue;
    c.jobSeqs.push(seq);
    c.attempts.push(pgText(r.attempt));
    c.indexes.push(r.index);
    c.ok.push(r.ok);
    c.at.push(r.at);
    c.identities.push(pgText(r.identity));
    c.networks.push(pgText(r.network));
    c.kinds.push(r.kind);
    c.hashes.push(pgText(r.hash));
    c.verdicts.push(r.verdict);
    // As SQLite: a failure's output is not kept (the vote carries null).
    c.outputs.push(r.ok ? JSON.stringify(r.output ?? null) : null);
    c.errors.push(r.error === null ? null : pgText(r.error));
    sent.set(seq, (sent.get(seq) ?? 0) + 1);
  }
  return { columns: c, sent };
}

/**
 * Verdicts, one per replica: applied one by one in the batch's order (as SQLite does) the last one stands,
 * and an `UPDATE ... FROM unnest(...)` changes a row only once, so only the last is sent.
 */
export function verdictColumns(writes: readonly VerdictWrite[], seqOf: SeqOf): VerdictColumns {
  const last = new Map<string, { seq: number; attempt: string; verdict: string }>();
  for (const v of writes) {
    const seq = seqOf(v.job);
    if (seq === undefined) continue;
    const attempt = pgText(v.attempt);
    last.set(`${seq}\u0000${attempt}`, { seq, attempt, verdict: v.verdict });
  }
  const c: VerdictColumns = { jobSeqs: [], attempts: [], verdicts: [] };
  for (const v of last.values()) {
    c.jobSeqs.push(v.seq);
    c.attempts.push(v.attempt);
    c.verdicts.push(v.verdict);
  }
  return c;
}

/** Identity records, the last one given for each id, in the order their ids first appear. */
export function identityColumns(records: readonly IdentityRecord[]): IdentityColumns {
  const last = new Map<string, IdentityRecord>();
  for (const r of records) last.set(pgText(r.id), r);
  const c: IdentityColumns = {
    ids: [],
    keys: [],
    networks: [],
    createdAt: [],
    states: [],
    vouched: [],
    streaks: [],
    trustedChecks: [],
    checksPassed: [],
    checksFailed: [],
    contradicted: [],
    bannedAt: [],
    banReasons: [],
  };
  for (const [id, r] of last) {
    c.ids.push(id);
    c.keys.push(pgText(r.key));
    c.networks.push(pgText(r.network));
    c.createdAt.push(r.createdAt);
    c.states.push(r.state);
    c.vouched.push(r.vouched);
    c.streaks.push(r.streak);
    c.trustedChecks.push(r.trustedChecks);
    c.checksPassed.push(r.checksPassed);
    c.checksFailed.push(r.checksFailed);
    c.contradicted.push(r.contradicted);
    c.bannedAt.push(r.bannedAt);
    c.banReasons.push(r.banReason === null ? null : pgText(r.banReason));
  }
  return c;
}
