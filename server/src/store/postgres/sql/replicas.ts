/**
 * [V13] Replica rows: each vote or check's outcome, durable in the group commit that reports it, and the
 * verdicts that settle it later.
 */
import type { Queryable } from '../connect.ts';
import type { ReplicaRow } from '../rows.ts';

export interface ReplicaColumns {
  jobSeqs: number[];
  attempts: string[];
  indexes: number[];
  ok: boolean[];
  at: number[];
  identities: string[];
  networks: string[];
  kinds: string[];
  hashes: string[];
  verdicts: string[];
  outputs: (string | null)[];
  errors: (string | null)[];
}

/**
 * Insert replica rows; a row whose attempt is there already (a retried commit) is left as it is. Returns the
 * job of each row this call inserted, from which the jobs' `replicas` increments are counted.
 */
export async function insertReplicas(db: Queryable, c: ReplicaColumns): Promise<Array<{ job_seq: number }>> {
  const { rows } = await db.query<{ job_seq: number }>({
    name: 'barnraise.insertReplicas',
    text: `INSERT INTO replicas (job_seq, attempt, idx, ok, at, identity, network, kind, hash, verdict, output, error)
           SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::boolean[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
           ON CONFLICT DO NOTHING
           RETURNING job_seq`,
    values: [c.jobSeqs, c.attempts, c.indexes, c.ok, c.at, c.identities, c.networks, c.kinds, c.hashes, c.verdicts, c.outputs, c.errors],
  });
  return rows;
}

export interface VerdictColumns {
  jobSeqs: number[];
  attempts: string[];
  verdicts: string[];
}

/** Set replicas' verdicts. One entry per replica: the caller keeps the last of a batch's verdicts for each. */
export async function setVerdicts(db: Queryable, c: VerdictColumns): Promise<void> {
  await db.query({
    name: 'barnraise.setVerdicts',
    text: `UPDATE replicas AS r SET verdict = v.verdict
           FROM unnest($1::int[], $2::text[], $3::text[]) AS v(job_seq, attempt, verdict)
           WHERE r.job_seq = v.job_seq AND r.attempt = v.attempt`,
    values: [c.jobSeqs, c.attempts, c.verdicts],
  });
}

// Attempt ids compare byte by byte (COLLATE "C"), as SQLite compares them, whatever the database's locale.
const COLUMNS = 'idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict';

/** A job's votes not yet settled (pending, or credited with a bootstrap check), in the order they were leased. */
export async function unsettledVotes(db: Queryable, jobSeq: number): Promise<ReplicaRow[]> {
  const { rows } = await db.query<ReplicaRow>({
    name: 'barnraise.unsettledVotes',
    text: `SELECT ${COLUMNS} FROM replicas WHERE job_seq = $1 AND kind = 'vote' AND verdict IN ('pending', 'credited') ORDER BY at, attempt COLLATE "C"`,
    values: [jobSeq],
  });
  return rows;
}

/** Every replica and check leased as one task index, oldest first. */
export async function taskReplicas(db: Queryable, jobSeq: number, index: number): Promise<ReplicaRow[]> {
  const { rows } = await db.query<ReplicaRow>({
    name: 'barnraise.taskReplicas',
    text: `SELECT ${COLUMNS} FROM replicas WHERE job_seq = $1 AND idx = $2 ORDER BY at, attempt COLLATE "C"`,
    values: [jobSeq, index],
  });
  return rows;
}
