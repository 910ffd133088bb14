/** The operator token: where it comes from and how a request proves it holds it. */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const TOKEN_FILE = 'operator-token';

export interface ResolvedToken {
  token: string;
  /** Where it is kept, when it came from the data dir. */
  file?: string;
  /** True when it was generated just now (print it once). */
  generated: boolean;
}

/** The configured token, else the one saved in `dataDir`, else a new one saved there (mode 0600). */
export function resolveToken(configured: string | undefined, dataDir: string): ResolvedToken {
  if (configured) return { token: configured, generated: false };
  const file = path.join(dataDir, TOKEN_FILE);
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    if (token) return { token, file, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return { token, file, generated: true };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** A checker comparing a candidate with `secret` in constant time (hashes have equal length). */
export function secretChecker(secret: string): (candidate: string | undefined) => boolean {
  const expected = digest(secret);
  return (candidate) => candidate !== undefined && timingSafeEqual(digest(candidate), expected);
}

/** A checker comparing `Authorization: Bearer <token>` in constant time. */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const matches = secretChecker(token);
  return (header) => {
    if (!header) return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m !== null && matches(m[1]!);
  };
}
