/**
 * The headless worker's assets (rule A4): a cache directory of files named by their SHA-256 (by default
 * `~/.barnraise/assets`, beside the identity), so a worker that restarts downloads nothing it had. What it
 * reads from the cache is hashed once per process before use; a download streams to a temporary file,
 * hashed and counted on the way, and is renamed into place only when it is the asset. Several workers may
 * share one directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assetPath, type AssetRef, type FetchAsset } from '@barnraise/shared';

/** Where `barnraise worker` keeps assets unless told otherwise. */
export function defaultAssetCacheDir(): string {
  return path.join(os.homedir(), '.barnraise', 'assets');
}

export interface AssetCacheOptions {
  /** The cache directory (created when first needed). */
  dir: string;
  /** The masters' http(s) origins to fetch from, the one this worker is connected to first. */
  masters(): readonly string[];
  log?: ((msg: string) => void) | undefined;
}

/** Downloads and cache reads, counted (tests, logs). */
export interface AssetCacheStats {
  downloaded: number;
  downloadedBytes: number;
  fromCache: number;
}

/** SHA-256 (hex) of a file, or undefined when there is none. */
async function hashOfFile(file: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(fs.createReadStream(file), hash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return hash.digest('hex');
}

/** A FetchAsset for the headless worker: resolves with the path of the asset's file, its bytes checked. */
export function assetCache(opts: AssetCacheOptions): FetchAsset & { stats: AssetCacheStats } {
  const verified = new Set<string>();
  const stats: AssetCacheStats = { downloaded: 0, downloadedBytes: 0, fromCache: 0 };
  const fetchAsset = async (asset: AssetRef): Promise<string> => {
    const file = path.join(opts.dir, asset.sha256);
    if (verified.has(asset.sha256)) return file;
    const cached = await hashOfFile(file);
    if (cached === asset.sha256) {
      verified.add(asset.sha256);
      stats.fromCache++;
      return file;
    }
    if (cached !== undefined) {
      opts.log?.(`cached asset ${asset.sha256} is damaged; downloading it again`);
      await fsp.rm(file, { force: true });
    }
    await fsp.mkdir(opts.dir, { recursive: true });
    const problems: string[] = [];
    // The master this worker is connected to first; in a cluster, the others may have it (they keep their own).
    for (const origin of new Set(opts.masters())) {
      try {
        await download(`${origin}${assetPath(asset.sha256)}`, asset, file);
        verified.add(asset.sha256);
        stats.downloaded++;
        stats.downloadedBytes += asset.size;
        return file;
      } catch (err) {
        problems.push(`${origin}: ${(err as Error).message}`);
      }
    }
    throw new Error(problems.join('; ') || 'no master to fetch it from');
  };
  return Object.assign(fetchAsset, { stats });
}

async function download(url: string, asset: AssetRef, file: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`GET ${new URL(url).pathname} answered ${res.status}`);
  }
  const temp = `${file}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash('sha256');
  let size = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > asset.size) return done(new Error(`the master sent more than the ${asset.size} bytes of the asset`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), check, fs.createWriteStream(temp, { flags: 'wx' }));
    const actual = hash.digest('hex');
    if (actual !== asset.sha256) throw new Error(`the bytes sent have SHA-256 ${actual}, not ${asset.sha256}`);
    await fsp.rename(temp, file);
  } finally {
    await fsp.rm(temp, { force: true });
  }
}
