/**
 * A group commit's validation writes (section V) as the column arrays of their statements: replica rows and
 * verdicts folded to the last per replica. Writes of jobs `seqOf` does not know, and indexes no row can
 * have, are dropped (and refused in the receipt), as task writes are (batch.ts).
 */
import type { ReplicaWrite, VerdictWrite } from '../store.ts';
import { int4, pgText } from './rows.ts';
import type { ReplicaColumns, VerdictColumns } from './sql/replicas.ts';

type SeqOf = (jobId: string) => number | undefined;

/** Replica rows to insert, with their positions in the batch. */
export function replicaColumns(writes: readonly ReplicaWrite[], seqOf: SeqOf): ReplicaColumns {
  const c: ReplicaColumns = { positions: [], jobSeqs: [], attempts: [], indexes: [], ok: [], at: [], identities: [], networks: [], kinds: [], hashes: [], verdicts: [], outputs: [], errors: [] };
  writes.forEach((r, i) => {
    const seq = seqOf(r.job);
    if (seq === undefined || !int4(r.index)) return;
    c.positions.push(i);
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
  });
  return c;
}

/**
 * Verdicts, one per replica: applied one by one in the batch's order (as SQLite does) the last one stands,
 * and an `UPDATE ... FROM unnest(...)` changes a row only once, so only the last is sent.
 */
export function verdictColumns(writes: readonly VerdictWrite[], seqOf: SeqOf): VerdictColumns {
  const last = new Map<string, { seq: number; attempt: string; index: number; verdict: string }>();
  for (const v of writes) {
    const seq = seqOf(v.job);
    if (seq === undefined || !int4(v.index)) continue;
    const attempt = pgText(v.attempt);
    const key = `${seq}\u0000${attempt}`;
    last.delete(key); // re-inserted: the map's order is the order of the last verdicts
    last.set(key, { seq, attempt, index: v.index, verdict: v.verdict });
  }
  const c: VerdictColumns = { jobSeqs: [], attempts: [], indexes: [], verdicts: [] };
  for (const v of last.values()) {
    c.jobSeqs.push(v.seq);
    c.attempts.push(v.attempt);
    c.indexes.push(v.index);
    c.verdicts.push(v.verdict);
  }
  return c;
}
