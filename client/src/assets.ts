/**
 * What uploading an asset needs beyond fetch: its SHA-256, and in Node a file opened as a Blob that streams
 * from disk. Node's modules come through `process.getBuiltinModule` (Node 20.16+), not an import, so the
 * package still bundles for browsers with nothing left to resolve.
 */
import { BarnraiseError } from './errors.ts';

type NodeProcess = { getBuiltinModule?: (id: string) => unknown } | undefined;

interface NodeFs {
  openAsBlob(path: string): Promise<Blob>;
}
interface NodeHash {
  update(chunk: Uint8Array): NodeHash;
  digest(encoding: 'hex'): string;
}
interface NodeCrypto {
  createHash(algorithm: 'sha256'): NodeHash;
}

/** A file as a Blob that reads from disk as it is sent (Node). */
export async function openAssetFile(path: string, proc: NodeProcess): Promise<Blob> {
  const fs = proc?.getBuiltinModule?.('node:fs') as NodeFs | undefined;
  if (!fs) throw new BarnraiseError('NO_FILES', 'an asset given by path needs Node 20.16 or later; pass its bytes or a Blob');
  try {
    return await fs.openAsBlob(path);
  } catch (err) {
    throw new BarnraiseError('NO_FILES', `cannot read asset file ${path}: ${(err as Error).message}`);
  }
}

/** Lowercase hex SHA-256 of `body`: streamed through Node's hash where there is one, whole through Web Crypto elsewhere. */
export async function assetSha256(body: Uint8Array | Blob, proc: NodeProcess): Promise<string> {
  const crypto = proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  if (crypto) {
    const hash = crypto.createHash('sha256');
    if (body instanceof Uint8Array) hash.update(body);
    else for await (const chunk of body.stream() as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest('hex');
  }
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(await body.arrayBuffer());
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0')).join('');
}
