/**
 * Checking an identity proof at hello (rule V1): the key is an ECDSA P-256 public key, the signature over
 * this connection's nonce verifies, and (rule V3) a vouch is an HMAC under the operator's vouch key. The
 * identity's id is derived from its key, so nobody can claim another's id without its private key.
 */
import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { helloProofText, vouchProofText, type IdentityProof } from '@barnraise/shared';

/** The id of the identity holding `key` (SPKI, base64url): 128 bits of its SHA-256. */
export function identityIdOf(key: string): string {
  return `i_${createHash('sha256').update(Buffer.from(key, 'base64url')).digest('base64url').slice(0, 22)}`;
}

export type ProofCheck = { ok: true; id: string } | { ok: false; why: string };

export function checkProof(proof: IdentityProof, nonce: string): ProofCheck {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(proof.key, 'base64url'), format: 'der', type: 'spki' });
  } catch {
    return { ok: false, why: 'not an SPKI public key' };
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { ok: false, why: 'not an ECDSA P-256 key' };
  const signature = Buffer.from(proof.sig, 'base64url');
  let valid = false;
  try {
    valid = verify('sha256', Buffer.from(helloProofText(nonce)), { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    valid = false;
  }
  return valid ? { ok: true, id: identityIdOf(proof.key) } : { ok: false, why: 'signature does not verify' };
}

/** The vouch a holder of `vouchKey` gives this nonce and key (HMAC-SHA256, hex). */
export function vouchFor(vouchKey: string, nonce: string, key: string): string {
  return createHmac('sha256', vouchKey).update(vouchProofText(nonce, key)).digest('hex');
}

/** [V3] True when `vouch` was made with the operator's vouch key for this nonce and key. */
export function vouchHolds(vouchKey: string, nonce: string, key: string, vouch: string): boolean {
  const expected = Buffer.from(vouchFor(vouchKey, nonce, key));
  const given = Buffer.from(vouch);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
