/**
 * The headless worker's volunteer identity (rule V1): an ECDSA P-256 key pair kept in a file (created when
 * missing, readable only by its owner), so a worker that restarts keeps the trust it earned. With the
 * operator's vouch key it also carries the operator's vouch (rule V3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { webcrypto } from 'node:crypto';
import { helloProofText, IDENTITY_KEY_ALGORITHM, IDENTITY_SIGN_ALGORITHM, type VolunteerIdentity } from '@barnraise/shared';
import { vouchFor } from '../validation/identity.ts';

const { subtle } = webcrypto;

/** Where `barnraise worker` keeps its identity unless told otherwise. */
export function defaultIdentityFile(): string {
  return path.join(os.homedir(), '.barnraise', 'identity.json');
}

interface IdentityFile {
  v: 1;
  /** Public key, SPKI DER, base64url. */
  key: string;
  /** Private key, PKCS#8 DER, base64url. */
  pkcs8: string;
}

async function fromFile(file: IdentityFile, vouchKey?: string): Promise<VolunteerIdentity> {
  const privateKey = await subtle.importKey('pkcs8', Buffer.from(file.pkcs8, 'base64url'), IDENTITY_KEY_ALGORITHM, false, ['sign']);
  return identityOf(file.key, privateKey, vouchKey);
}

function identityOf(key: string, privateKey: webcrypto.CryptoKey, vouchKey?: string): VolunteerIdentity {
  return {
    key,
    async sign(nonce: string) {
      const sig = await subtle.sign(IDENTITY_SIGN_ALGORITHM, privateKey, Buffer.from(helloProofText(nonce)));
      return Buffer.from(sig).toString('base64url');
    },
    ...(vouchKey === undefined ? {} : { vouch: async (nonce: string) => vouchFor(vouchKey, nonce, key) }),
  };
}

async function generate(): Promise<IdentityFile> {
  const pair = (await subtle.generateKey(IDENTITY_KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const key = Buffer.from(await subtle.exportKey('spki', pair.publicKey)).toString('base64url');
  const pkcs8 = Buffer.from(await subtle.exportKey('pkcs8', pair.privateKey)).toString('base64url');
  return { v: 1, key, pkcs8 };
}

/**
 * The identity in `file`, made there first when the file does not exist. Several workers started at once on
 * one file end with one identity: the file is created exclusively, and a loser reads the winner's.
 */
export async function fileIdentity(file: string, vouchKey?: string): Promise<VolunteerIdentity> {
  try {
    return await fromFile(JSON.parse(fs.readFileSync(file, 'utf8')) as IdentityFile, vouchKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the identity file ${file}: ${(err as Error).message}`);
  }
  const made = await generate();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, `${JSON.stringify(made)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fileIdentity(file, vouchKey);
  }
  return fromFile(made, vouchKey);
}

/** A new identity kept only in memory (tests, benchmarks, and chaos volunteers that come and go). */
export async function ephemeralIdentity(vouchKey?: string): Promise<VolunteerIdentity> {
  return fromFile(await generate(), vouchKey);
}
