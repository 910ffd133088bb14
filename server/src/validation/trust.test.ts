import { describe, expect, it } from 'vitest';
import { banByOperator, contradictFailure, DEFAULT_TRUST_POLICY, failCheck, loseBootstrap, newIdentity, passCheck, reinstate, trustVotes, vouch, type IdentityRecord } from './trust.ts';

const p = { ...DEFAULT_TRUST_POLICY, trustAfter: 3, seasoning: 2, maxContradicted: 2 };
const fresh = () => newIdentity('i_x', 'key', '10.0.0.0/24', 1);
const times = (r: IdentityRecord, k: number, f: (r: IdentityRecord) => IdentityRecord) => Array.from({ length: k }).reduce<IdentityRecord>((acc) => f(acc), r);

describe('trust (SPEC.md V3, V5, V11)', () => {
  it('[V3] a new identity is untrusted and weighs nothing; trustAfter checks in a row make it trusted, seasoning more make it weigh 2', () => {
    const r = fresh();
    expect(r.state).toBe('untrusted');
    expect(trustVotes(r, p)).toBe(0);
    const trusted = times(r, 3, (x) => passCheck(x, p));
    expect(trusted).toMatchObject({ state: 'trusted', streak: 3, trustedChecks: 0, checksPassed: 3 });
    expect(trustVotes(trusted, p)).toBe(1);
    const seasoned = times(trusted, 2, (x) => passCheck(x, p));
    expect(seasoned.trustedChecks).toBe(2);
    expect(trustVotes(seasoned, p)).toBe(2);
  });

  it('[V10] losing a bootstrap vote starts the streak (or the seasoning) over, and bans nobody', () => {
    const two = times(fresh(), 2, (x) => passCheck(x, p));
    expect(loseBootstrap(two)).toMatchObject({ state: 'untrusted', streak: 0 });
    const trusted = times(fresh(), 4, (x) => passCheck(x, p));
    expect(trusted.trustedChecks).toBe(1);
    expect(loseBootstrap(trusted)).toMatchObject({ state: 'trusted', trustedChecks: 0 });
  });

  it('[V5] one failed check bans, whatever the trust, and says why', () => {
    const seasoned = times(fresh(), 5, (x) => passCheck(x, p));
    const banned = failCheck(seasoned, 'wrong answer', 99);
    expect(banned).toMatchObject({ state: 'banned', bannedAt: 99, banReason: 'wrong answer', checksFailed: 1 });
    expect(trustVotes(banned, p)).toBe(0);
    expect(passCheck(banned, p)).toBe(banned);
  });

  it('[V11] a contradicted failure costs trust, not the identity; maxContradicted in a row ban it', () => {
    const trusted = times(fresh(), 3, (x) => passCheck(x, p));
    const once = contradictFailure(trusted, p, 5);
    expect(once).toMatchObject({ state: 'untrusted', streak: 0, contradicted: 1 });
    expect(contradictFailure(passCheck(once, p), p, 6)).toMatchObject({ state: 'untrusted', contradicted: 1 }); // a pass in between resets the count
    expect(contradictFailure(once, p, 6)).toMatchObject({ state: 'banned', banReason: 'failed 2 tasks in a row that others completed' });
  });

  it('[V3] the operator vouches (trusted at once, weighs 3, a ban lifted), bans by hand, and reinstates', () => {
    const v = vouch(failCheck(fresh(), 'x', 1));
    expect(v).toMatchObject({ state: 'trusted', vouched: true, bannedAt: null });
    expect(trustVotes(v, p)).toBe(3);
    const b = banByOperator(v, 'operator: test', 2);
    expect(b).toMatchObject({ state: 'banned', vouched: false, banReason: 'operator: test' });
    expect(reinstate(b)).toMatchObject({ state: 'untrusted', streak: 0, bannedAt: null });
  });
});
