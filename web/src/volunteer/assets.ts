/**
 * The page's assets (rule A4): each asset a job names is looked up in this origin's Cache Storage
 * (`barnraise-assets`, keyed by its URL), else fetched from the master over plain HTTP and kept there, so a
 * volunteer who comes back downloads nothing. Whatever is read, from the cache or the network, is hashed
 * and used only if it is the asset (a damaged or planted entry is dropped and fetched again). The compute
 * workers get a Blob of it: a reference, not a copy per task, and the sandbox itself reaches no network.
 */
import { assetPath, type AssetRef, type FetchAsset } from '@barnraise/shared';

/** The Cache Storage cache of this origin that holds assets. */
export const ASSET_CACHE = 'barnraise-assets';

/** Lowercase hex SHA-256 of `bytes`. */
async function sha256(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether `blob` is `asset`. Without Web Crypto (an insecure context, which has no Cache Storage either)
 * the bytes came straight from the master, as the page's own code did: their size is checked.
 */
async function isAsset(blob: Blob, asset: AssetRef): Promise<boolean> {
  if (blob.size !== asset.size) return false;
  if (!globalThis.crypto?.subtle) return true;
  return (await sha256(await blob.arrayBuffer())) === asset.sha256;
}

async function openCache(): Promise<Cache | undefined> {
  try {
    // Only in a secure context (https, or localhost); elsewhere the page fetches once per page load.
    return globalThis.caches ? await caches.open(ASSET_CACHE) : undefined;
  } catch {
    return undefined;
  }
}

/** Told of each asset the page got, and whether it came over the network (else from Cache Storage). */
export type AssetGot = (asset: AssetRef, downloaded: boolean) => void;

/**
 * A FetchAsset for the page: resolves with a Blob of the asset's checked bytes. The bytes stay in Blobs, which
 * the browser keeps off the page's thread: the same Blob is hashed, cached and handed on. Copies of them in
 * the page's heap (a Blob made from an ArrayBuffer, a Response made from one) cost the page's thread about a
 * second for Pyodide's 20 MB on a busy two-core machine, long enough for the tab to miss its heartbeats.
 */
export function browserAssets(origin = location.origin, log?: (msg: string) => void, got?: AssetGot): FetchAsset {
  let cache: Promise<Cache | undefined> | undefined;
  return async (asset) => {
    const url = new URL(assetPath(asset.sha256), origin).href;
    const store = await (cache ??= openCache());
    const hit = await store?.match(url).catch(() => undefined);
    if (hit) {
      const blob = await hit.blob();
      if (await isAsset(blob, asset)) {
        got?.(asset, false);
        return blob;
      }
      log?.(`cached asset ${asset.sha256} is damaged; fetching it again`);
      await store!.delete(url).catch(() => false);
    }
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${assetPath(asset.sha256)} answered ${res.status}`);
    const blob = await res.blob();
    if (!(await isAsset(blob, asset))) throw new Error(`the bytes sent (${blob.size}) are not the asset`);
    // Kept for the next visit; a full quota only costs that visit a download.
    got?.(asset, true);
    await store?.put(url, new Response(blob, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) } })).catch((err: unknown) => log?.(`asset ${asset.sha256} not cached: ${String(err)}`));
    return blob;
  };
}
