/**
 * Volunteer identities and their trust (SPEC.md rules V3, V5, V11): pure transitions over one record, and
 * the book that holds the records the master is using, journals every change and tells who was banned.
 * Trust is earned only by passed blind checks; one failed check bans.
 */

export const TrustState = { untrusted: 'untrusted', trusted: 'trusted', banned: 'banned' } as const;
export type TrustState = (typeof TrustState)[keyof typeof TrustState];

/** One identity as the store keeps it. */
export interface IdentityRecord {
  id: string;
  /** Public key (SPKI, base64url): the identity is whoever can sign with its private key. */
  key: string;
  /** Network it was created from (rule V2). */
  network: string;
  createdAt: number;
  state: TrustState;
  /** The operator vouched for it (its own machine): trusted from the start, two votes (rule V7). */
  vouched: boolean;
  /** Checks passed in a row since the last reset: trusted at `trustAfter` (V3). */
  streak: number;
  /** Checks passed since it became trusted: its vote weighs full once `seasoning` (V7). */
  trustedChecks: number;
  checksPassed: number;
  checksFailed: number;
  /** Failures contradicted by a final result since its last passed check (V11). */
  contradicted: number;
  bannedAt: number | null;
  banReason: string | null;
}

export interface TrustPolicy {
  /** Consecutive passed checks that make an identity trusted (BOINC's adaptive replication uses 10). */
  trustAfter: number;
  /**
   * Checks a trusted identity passes before its vote weighs 2 rather than 1 (V7). A sleeper (honest until
   * trusted, then wrong) is caught by these checks before its vote can settle anything with a fellow sleeper.
   */
  seasoning: number;
  /** Contradicted failures in a row that ban an identity (it fails what others complete). */
  maxContradicted: number;
}

export const DEFAULT_TRUST_POLICY: TrustPolicy = { trustAfter: 10, seasoning: 5, maxContradicted: 5 };

/**
 * [V7] How many trust votes an identity's result carries: 0 untrusted (or banned), 1 trusted, 2 trusted and
 * seasoned, 3 vouched by the operator (its own machine: a result that stands alone).
 */
export function trustVotes(r: IdentityRecord | undefined, p: TrustPolicy): number {
  if (!r || r.state === TrustState.banned) return 0;
  if (r.vouched) return 3;
  if (r.state !== TrustState.trusted) return 0;
  return r.trustedChecks >= p.seasoning ? 2 : 1;
}

export function newIdentity(id: string, key: string, network: string, now: number): IdentityRecord {
  return { id, key, network, createdAt: now, state: TrustState.untrusted, vouched: false, streak: 0, trustedChecks: 0, checksPassed: 0, checksFailed: 0, contradicted: 0, bannedAt: null, banReason: null };
}

/** [V3] A passed blind check: the streak grows; at `trustAfter` in a row the identity is trusted. */
export function passCheck(r: IdentityRecord, p: TrustPolicy): IdentityRecord {
  if (r.state === TrustState.banned) return r;
  const streak = r.streak + 1;
  const state = r.state === TrustState.untrusted && streak >= p.trustAfter ? TrustState.trusted : r.state;
  const trustedChecks = r.state === TrustState.trusted ? r.trustedChecks + 1 : 0;
  return { ...r, streak, trustedChecks, checksPassed: r.checksPassed + 1, contradicted: 0, state };
}

/** [V5] A failed check (a wrong result against a trusted quorum or a known answer): banned. */
export function failCheck(r: IdentityRecord, reason: string, now: number): IdentityRecord {
  if (r.state === TrustState.banned) return r;
  return { ...r, state: TrustState.banned, streak: 0, checksFailed: r.checksFailed + 1, bannedAt: now, banReason: reason };
}

/**
 * [V11] A failure contradicted by a final result: no ban (honest machines time out too), but the streak
 * starts over and a trusted identity is trusted no more; `maxContradicted` in a row ban it.
 */
export function contradictFailure(r: IdentityRecord, p: TrustPolicy, now: number): IdentityRecord {
  if (r.state === TrustState.banned) return r;
  const contradicted = r.contradicted + 1;
  if (contradicted >= p.maxContradicted) {
    return { ...r, contradicted, streak: 0, state: TrustState.banned, bannedAt: now, banReason: `failed ${contradicted} tasks in a row that others completed` };
  }
  const state = r.vouched ? r.state : TrustState.untrusted;
  return { ...r, contradicted, streak: 0, trustedChecks: 0, state };
}

/**
 * [V10] On the losing side of a bootstrap vote (no evidence of higher trust either way): an untrusted
 * identity's streak, or a trusted one's seasoning, starts over. Not a ban: the majority may be the wrong one.
 */
export function loseBootstrap(r: IdentityRecord): IdentityRecord {
  if (r.state === TrustState.untrusted && r.streak > 0) return { ...r, streak: 0 };
  if (r.state === TrustState.trusted && !r.vouched && r.trustedChecks > 0) return { ...r, trustedChecks: 0 };
  return r;
}

/** The operator vouches for this identity (its own machine): trusted, and a ban is lifted. */
export function vouch(r: IdentityRecord): IdentityRecord {
  return { ...r, vouched: true, state: TrustState.trusted, bannedAt: null, banReason: null, contradicted: 0 };
}

/** The operator bans this identity by hand. */
export function banByOperator(r: IdentityRecord, reason: string, now: number): IdentityRecord {
  return { ...r, state: TrustState.banned, vouched: false, bannedAt: now, banReason: reason };
}

/** The operator gives a banned identity a fresh start: untrusted, with no streak. */
export function reinstate(r: IdentityRecord): IdentityRecord {
  return { ...r, state: TrustState.untrusted, vouched: false, streak: 0, trustedChecks: 0, contradicted: 0, bannedAt: null, banReason: null };
}

/** What the operator is shown of an identity's trust (shared TrustLabel). */
export function trustLabel(r: IdentityRecord | undefined, p: TrustPolicy): 'anonymous' | 'untrusted' | 'trusted' | 'seasoned' | 'vouched' | 'banned' {
  if (!r) return 'anonymous';
  if (r.state === TrustState.banned) return 'banned';
  return (['untrusted', 'trusted', 'seasoned', 'vouched'] as const)[trustVotes(r, p)]!;
}

/** A change of trust as it is journaled (store.ts IdentityEvent), applied to the record as stored. */
export type TrustEvent =
  | { id: string; event: 'create'; record: IdentityRecord }
  | { id: string; event: 'pass' | 'contradicted'; at: number; policy: TrustPolicy }
  | { id: string; event: 'lostBootstrap' | 'vouch' | 'reinstate'; at: number }
  | { id: string; event: 'fail' | 'ban'; at: number; reason: string };

/**
 * [K5] Apply a journaled change to the record the store holds: the same transitions the master ran in
 * memory, so changes from several masters to one identity compose. A create never overwrites a record.
 */
export function applyTrustEvent(r: IdentityRecord | undefined, e: TrustEvent): IdentityRecord | undefined {
  if (e.event === 'create') return r ?? e.record;
  if (!r) return undefined;
  switch (e.event) {
    case 'pass':
      return passCheck(r, e.policy);
    case 'contradicted':
      return contradictFailure(r, e.policy, e.at);
    case 'lostBootstrap':
      return loseBootstrap(r);
    case 'vouch':
      return vouch(r);
    case 'reinstate':
      return reinstate(r);
    case 'fail':
      return failCheck(r, e.reason, e.at);
    case 'ban':
      return banByOperator(r, e.reason, e.at);
  }
}
