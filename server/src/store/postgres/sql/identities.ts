/** [V3][V5] Volunteer identities and their trust. */
import type { Queryable } from '../connect.ts';
import type { IdentityRow } from '../rows.ts';

export interface IdentityColumns {
  ids: string[];
  keys: string[];
  networks: string[];
  createdAt: number[];
  states: string[];
  vouched: boolean[];
  streaks: number[];
  trustedChecks: number[];
  checksPassed: number[];
  checksFailed: number[];
  contradicted: number[];
  bannedAt: (number | null)[];
  banReasons: (string | null)[];
}

/**
 * Create identities or overwrite their trust with the records as given (ids must be distinct: a row is
 * updated once per statement). New ones are numbered in the order given, for the newest-first list; key,
 * network and creation time never change.
 *
 * Absolute values: the master's in-memory trust book is authoritative while one master owns the database.
 * A cluster, where several masters' books change one identity, will need the counters (streak, checks,
 * contradicted) to change by increments and bans to be sticky, as jobs' counters are (docs/postgres.md).
 */
export async function upsertIdentities(db: Queryable, c: IdentityColumns): Promise<void> {
  await db.query({
    name: 'barnraise.upsertIdentities',
    text: `INSERT INTO identities (id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason)
           SELECT id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::boolean[], $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::bigint[], $13::text[])
             WITH ORDINALITY AS i(id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason, n)
           ORDER BY n
           ON CONFLICT (id) DO UPDATE SET state = excluded.state, vouched = excluded.vouched, streak = excluded.streak, trusted_checks = excluded.trusted_checks,
             checks_passed = excluded.checks_passed, checks_failed = excluded.checks_failed, contradicted = excluded.contradicted,
             banned_at = excluded.banned_at, ban_reason = excluded.ban_reason`,
    values: [c.ids, c.keys, c.networks, c.createdAt, c.states, c.vouched, c.streaks, c.trustedChecks, c.checksPassed, c.checksFailed, c.contradicted, c.bannedAt, c.banReasons],
  });
}

const COLUMNS = 'id, key, network, created_at, state, vouched, streak, trusted_checks, checks_passed, checks_failed, contradicted, banned_at, ban_reason';

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
