/**
 * [V13][K4] Replica rows: each vote or check's outcome, durable in the group commit that reports it, and the
 * verdicts that settle it later. A vote and a verdict are about a task: with an owner, they take effect only
 * while that owner holds the task, pending (read FOR SHARE, so the claim cannot move to another master
 * before this commit is visible, and the next holder's claim brings the vote along). A check is about an
 * identity and is written whoever sends it.
 */
import type { Queryable } from '../connect.ts';
import { heldBy } from './claims.ts';
import type { ReplicaRow } from '../rows.ts';
import type { Fence } from './taskWrites.ts';

export interface ReplicaColumns {
  /** Position of each row in the batch's replicas, for the receipt. */
  positions: number[];
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
 * Insert the replica rows that pass the fence; a row whose attempt is there already (a retried commit) is
 * left as it is. Returns the positions of the rows that passed: stored now or before.
 */
export async function insertReplicas(db: Queryable, c: ReplicaColumns, fence: Fence): Promise<number[]> {
  const { rows } = await db.query<{ pos: number }>({
    name: 'barnraise.insertReplicas',
    text: `WITH r AS (
             SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::int[], $5::boolean[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
               AS r(pos, job_seq, attempt, idx, ok, at, identity, network, kind, hash, verdict, output, error)
           ),
           held AS MATERIALIZED (
             SELECT t.job_seq, t.idx FROM tasks t
             WHERE $14::text IS NOT NULL AND (t.job_seq, t.idx) IN (SELECT job_seq, idx FROM r WHERE kind = 'vote')
               AND t.state = 0 AND ${heldBy('t', '$14', '$15')}
             FOR SHARE OF t
           ),
           passed AS MATERIALIZED (
             SELECT r.* FROM r
             WHERE r.kind = 'check' OR $14::text IS NULL OR EXISTS (SELECT 1 FROM held h WHERE h.job_seq = r.job_seq AND h.idx = r.idx)
           ),
           inserted AS (
             INSERT INTO replicas (job_seq, attempt, idx, ok, at, identity, network, kind, hash, verdict, output, error)
             SELECT job_seq, attempt, idx, ok, at, identity, network, kind, hash, verdict, output, error FROM passed ORDER BY pos
             ON CONFLICT DO NOTHING
           )
           SELECT pos FROM passed`,
    values: [c.positions, c.jobSeqs, c.attempts, c.indexes, c.ok, c.at, c.identities, c.networks, c.kinds, c.hashes, c.verdicts, c.outputs, c.errors, fence.master, fence.gen],
  });
  return rows.map((r) => r.pos);
}

export interface VerdictColumns {
  jobSeqs: number[];
  attempts: string[];
  indexes: number[];
  verdicts: string[];
}

/**
 * Set replicas' verdicts, fenced by their task as votes are. One entry per replica: the caller keeps the
 * last of a batch's verdicts for each (an UPDATE changes a row once).
 */
export async function setVerdicts(db: Queryable, c: VerdictColumns, fence: Fence): Promise<void> {
  await db.query({
    name: 'barnraise.setVerdicts',
    text: `WITH v AS (
             SELECT * FROM unnest($1::int[], $2::text[], $3::int[], $4::text[]) AS v(job_seq, attempt, idx, verdict)
           ),
           held AS MATERIALIZED (
             SELECT t.job_seq, t.idx FROM tasks t
             WHERE $5::text IS NOT NULL AND (t.job_seq, t.idx) IN (SELECT job_seq, idx FROM v)
               AND t.state = 0 AND ${heldBy('t', '$5', '$6')}
             FOR SHARE OF t
           )
           UPDATE replicas AS r SET verdict = v.verdict
           FROM v
           WHERE r.job_seq = v.job_seq AND r.attempt = v.attempt
             AND ($5::text IS NULL OR EXISTS (SELECT 1 FROM held h WHERE h.job_seq = v.job_seq AND h.idx = v.idx))`,
    values: [c.jobSeqs, c.attempts, c.indexes, c.verdicts, fence.master, fence.gen],
  });
}

// Attempt ids compare byte by byte (COLLATE "C"), as SQLite compares them, whatever the database's locale.
const COLUMNS = 'idx, attempt, identity, network, kind, ok, hash, output, error, at, verdict';

/** The unsettled votes (pending, or credited to trust or seasoning by a check) of these tasks, in the order they were leased. */
export async function unsettledVotes(db: Queryable, jobSeq: number, indexes: number[]): Promise<ReplicaRow[]> {
  const { rows } = await db.query<ReplicaRow>({
    name: 'barnraise.unsettledVotes',
    text: `SELECT ${COLUMNS} FROM replicas
           WHERE job_seq = $1 AND idx = ANY($2::int[]) AND kind = 'vote' AND verdict IN ('pending', 'credited', 'seasoning')
           ORDER BY at, attempt COLLATE "C"`,
    values: [jobSeq, indexes],
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
