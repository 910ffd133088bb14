/**
 * A volunteer's stable anonymous identity (SPEC.md rule V1): a key pair that stays with the volunteer (the
 * page keeps it in the master origin's IndexedDB, never the sandbox's; the headless worker in a file), proved
 * at every hello by signing the master's per-connection nonce. Key handling is the host's (WebCrypto in both);
 * this module holds what both sides must agree on.
 */

/** What a volunteer host gives the protocol core to prove its identity. */
export interface VolunteerIdentity {
  /** Public key, SPKI DER, base64url. */
  readonly key: string;
  /** Signature (ECDSA P-256, SHA-256, IEEE P1363, base64url) of `helloProofText(nonce)`. */
  sign(nonce: string): Promise<string>;
  /** The operator's vouch for this machine (rule V3), when it was given the vouch key. */
  vouch?(nonce: string): Promise<string>;
}

/** The text an identity signs at hello: bound to this connection's nonce, so a captured proof cannot be replayed. */
export function helloProofText(nonce: string): string {
  return `barnraise hello ${nonce}`;
}

/** The text the vouch key authenticates (HMAC-SHA256, hex): this nonce and this public key. */
export function vouchProofText(nonce: string, key: string): string {
  return `barnraise vouch ${nonce} ${key}`;
}

/** The ECDSA curve and hash every identity uses; P-256 is in every browser's WebCrypto and in Node's. */
export const IDENTITY_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const IDENTITY_SIGN_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding, for bytes from WebCrypto (no Buffer in the page). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}
