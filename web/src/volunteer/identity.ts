/**
 * The tab's volunteer identity (rule V1): an ECDSA P-256 key pair made by WebCrypto with a private key that
 * cannot be exported, kept in this origin's IndexedDB (the master's page, never the sandbox frame, whose
 * opaque origin has no storage). A returning volunteer proves the same identity, and the trust it earned.
 */
import { helloProofText, IDENTITY_KEY_ALGORITHM, IDENTITY_SIGN_ALGORITHM, toBase64Url, type VolunteerIdentity } from '@barnraise/shared';

const DB = 'barnraise';
const STORE = 'identity';
const KEY = 'volunteer';

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

async function openDb(): Promise<IDBDatabase> {
  const req = indexedDB.open(DB, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function storedPair(db: IDBDatabase): Promise<CryptoKeyPair | undefined> {
  return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY) as IDBRequest<CryptoKeyPair | undefined>);
}

/** This origin's identity, made on first use. Two tabs racing to make one both end with the first one stored. */
export async function browserIdentity(): Promise<VolunteerIdentity> {
  const db = await openDb();
  let pair = await storedPair(db);
  if (!pair) {
    const made = (await crypto.subtle.generateKey(IDENTITY_KEY_ALGORITHM, false, ['sign', 'verify'])) as CryptoKeyPair;
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    // add(), not put(): if another tab stored one meanwhile, ours is refused and theirs is used.
    store.add(made, KEY);
    await new Promise<void>((resolve) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => resolve();
    });
    pair = (await storedPair(db)) ?? made;
  }
  db.close();
  const { privateKey, publicKey } = pair;
  const key = toBase64Url(new Uint8Array(await crypto.subtle.exportKey('spki', publicKey)));
  return {
    key,
    async sign(nonce: string) {
      const sig = await crypto.subtle.sign(IDENTITY_SIGN_ALGORITHM, privateKey, new TextEncoder().encode(helloProofText(nonce)));
      return toBase64Url(new Uint8Array(sig));
    },
  };
}
