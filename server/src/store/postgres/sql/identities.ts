/**
 * [V3][V5][K5] Volunteer identities and their trust. A commit changes them by events (trust.ts), applied to
 * the records as stored under their row locks, so the changes of several masters compose.
 */
import type { IdentityRecord } from '../../store.ts';
import type { Queryable } from '../connect.ts';
import { pgText, type IdentityRow } from '../rows.ts';

const COLUMNS = 'id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason';

/** Lock the identities of `ids` that exist until the transaction ends (in id order, as every commit does) and read them. */
export async function lockIdentities(db: Queryable, ids: string[]): Promise<IdentityRow[]> {
  const { rows } = await db.query<IdentityRow>({
    name: 'barnraise.lockIdentities',
    text: `SELECT ${COLUMNS} FROM identities WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
    values: [ids],
  });
  return rows;
}

/** The columns of `records` for unnest, in the order given. */
function columns(records: readonly IdentityRecord[]): unknown[] {
  const col = <T>(f: (r: IdentityRecord) => T) => records.map(f);
  return [
    col((r) => pgText(r.id)),
    col((r) => pgText(r.key)),
    col((r) => pgText(r.network)),
    col((r) => r.createdAt),
    col((r) => r.state),
    col((r) => r.vouched),
    col((r) => r.streak),
    col((r) => r.trustedChecks),
    col((r) => r.checksPassed),
    col((r) => r.checksFailed),
    col((r) => r.contradicted),
    col((r) => r.bannedAt),
    col((r) => (r.banReason === null ? null : pgText(r.banReason))),
  ];
}

const UNNEST = `unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::bigint[], $13::text[])
  WITH ORDINALITY AS i(id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason, n)`;

/**
 * Insert new identities, numbered in the order given (for the newest-first list). One another master
 * created meanwhile is left alone: its id is missing from the result, and the caller applies its events
 * again, to the record as that master stored it.
 */
export async function insertIdentities(db: Queryable, records: readonly IdentityRecord[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'barnraise.insertIdentities',
    text: `INSERT INTO identities (${COLUMNS})
           SELECT ${COLUMNS} FROM ${UNNEST} ORDER BY n
           ON CONFLICT (id) DO NOTHING
           RETURNING id`,
    values: columns(records),
  });
  return rows.map((r) => r.id);
}

/** Write the trust of locked identities (key, network and creation time never change). */
export async function updateIdentities(db: Queryable, records: readonly IdentityRecord[]): Promise<void> {
  await db.query({
    name: 'barnraise.updateIdentities',
    text: `UPDATE identities AS x
           SET state = i.state, vouched = i.vouched, streak = i.streak, trusted_checks = i.trusted_checks, checks_passed = i.checks_passed,
               checks_failed = i.checks_failed, contradicted = i.contradicted, banned_at = i.banned_at, ban_reason = i.ban_reason
           FROM ${UNNEST}
           WHERE x.id = i.id`,
    values: columns(records),
  });
}

/** The identities of `ids` that exist, in no particular order. */
export async function identitiesByIds(db: Queryable, ids: string[]): Promise<IdentityRow[]> {
  const { rows } = await db.query<IdentityRow>({ name: 'barnraise.identitiesByIds', text: `SELECT ${COLUMNS} FROM identities WHERE id = ANY($1::text[])`, values: [ids] });
  return rows;
}

/** A page of identities, newest first, with how many there are. */
export async function listIdentities(db: Queryable, offset: number, limit: number): Promise<{ total: number; rows: IdentityRow[] }> {
  const [count, page] = await Promise.all([
    db.query<{ n: number }>({ name: 'barnraise.countIdentities', text: 'SELECT count(*)::int AS n FROM identities' }),
    db.query<IdentityRow>({ name: 'barnraise.listIdentities', text: `SELECT ${COLUMNS} FROM identities ORDER BY seq DESC LIMIT $1 OFFSET $2`, values: [limit, offset] }),
  ]);
  return { total: count.rows[0]!.n, rows: page.rows };
}
