/**
 * Assets on the master's disk (SPEC.md A1, A2): `<dataDir>/assets/<sha256>`, one file per content hash, not in
 * the database (a 50 MB file has no business in a group commit, and files are what HTTP serves and caches
 * best). An upload streams to a temporary file while its hash and size are checked, is synced, and only
 * then linked into place, so a reader never sees part of an asset, a crash leaves only a temporary file
 * (swept at the next start), and two uploads of the same bytes end with one file.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { assetPath, type AssetRef, type AssetStored, type JobAssets } from '@barnraise/shared';
import { ApiError, isDiskFull } from '../errors.ts';

/** Under the data dir. */
export const ASSETS_DIR = 'assets';
/** Uploads in progress, beside the assets so that linking one into place never crosses a filesystem. */
const INCOMING_DIR = '.incoming';
const SHA256 = /^[0-9a-f]{64}$/;

export interface AssetLimits {
  /** Largest asset (BARNRAISE_ASSET_MAX_BYTES). */
  maxBytes: number;
  /** Most bytes all assets together may take (BARNRAISE_ASSET_MAX_TOTAL_BYTES); unset: what the disk holds. */
  maxTotalBytes?: number | undefined;
  /** [A2] The other live masters of a cluster (their base URLs): asked for an asset this one lacks. */
  peers?: (() => readonly string[]) | undefined;
  onError?: ((err: unknown) => void) | undefined;
}

/** How long a master waits for another master to start sending an asset. */
const PEER_TIMEOUT_MS = 5_000;

/** An open stored asset, to send. */
export interface OpenAsset {
  size: number;
  stream(): Readable;
  close(): Promise<void>;
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;

export class AssetStore {
  /** Pulls from other masters under way, by hash: one per asset however many ask. */
  private readonly pulling = new Map<string, Promise<boolean>>();

  private constructor(
    readonly dir: string,
    private readonly limits: AssetLimits,
    private total: number,
  ) {}

  /** Open (creating) the asset directory under `dataDir`, sweep uploads a crash left, and count what is stored. */
  static async open(dataDir: string, limits: AssetLimits): Promise<AssetStore> {
    const dir = path.join(dataDir, ASSETS_DIR);
    await fsp.rm(path.join(dir, INCOMING_DIR), { recursive: true, force: true });
    await fsp.mkdir(path.join(dir, INCOMING_DIR), { recursive: true });
    let total = 0;
    for (const name of await fsp.readdir(dir)) {
      if (SHA256.test(name)) total += (await fsp.stat(path.join(dir, name))).size;
    }
    return new AssetStore(dir, limits, total);
  }

  /** Bytes stored. */
  get totalBytes(): number {
    return this.total;
  }

  private file(sha256: string): string {
    if (!SHA256.test(sha256)) throw new ApiError('BAD_REQUEST', 'an asset is named by its lowercase hex SHA-256');
    return path.join(this.dir, sha256);
  }

  /** The size of a stored asset, or undefined when this master does not have it. */
  async size(sha256: string): Promise<number | undefined> {
    const stat = await fsp.stat(this.file(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    return stat?.size;
  }

  /** Open a stored asset to send it, from another master of the cluster if need be (A2); undefined when none has it. */
  async open(sha256: string): Promise<OpenAsset | undefined> {
    const open = () =>
      fsp.open(this.file(sha256), 'r').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
    const handle = (await open()) ?? ((await this.pull(sha256)) ? await open() : undefined);
    if (!handle) return undefined;
    const { size } = await handle.stat();
    return { size, stream: () => handle.createReadStream(), close: () => handle.close().catch(() => undefined) };
  }

  /**
   * [A2] Fetch an asset this master lacks from another live master of the cluster, checked and kept like an
   * upload (A1). True once it is here.
   */
  private pull(sha256: string): Promise<boolean> {
    const peers = this.limits.peers?.() ?? [];
    if (peers.length === 0) return Promise.resolve(false);
    let pulling = this.pulling.get(sha256);
    if (!pulling) {
      pulling = (async () => {
        for (const base of peers) {
          try {
            const res = await fetch(new URL(assetPath(sha256), base), { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
            if (!res.ok || !res.body) {
              await res.body?.cancel();
              continue;
            }
            const length = res.headers.get('content-length');
            await this.put(sha256, Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), length === null ? undefined : Number(length));
            return true;
          } catch (err) {
            this.limits.onError?.(err);
          }
        }
        return false;
      })().finally(() => this.pulling.delete(sha256));
      this.pulling.set(sha256, pulling);
    }
    return pulling;
  }

  /**
   * [A2] A job body's `assets` as the job keeps them (name, hash, size), in the body's order; a hash this master
   * does not have refuses the job (422 UNKNOWN_ASSET), naming every one that is missing.
   */
  async refs(assets: JobAssets | undefined): Promise<AssetRef[] | undefined> {
    const entries = Object.entries(assets ?? {});
    if (entries.length === 0) return undefined;
    const refs: AssetRef[] = [];
    const missing: string[] = [];
    for (const [name, sha256] of entries) {
      const size = (await this.size(sha256)) ?? ((await this.pull(sha256)) ? await this.size(sha256) : undefined);
      if (size === undefined) missing.push(`"${name}" (${sha256})`);
      else refs.push({ name, sha256, size });
    }
    if (missing.length > 0) {
      throw new ApiError('UNKNOWN_ASSET', `no master of this cluster has the asset ${missing.join(', ')}: upload it first with PUT /api/assets/<sha256>`);
    }
    return refs;
  }

  /**
   * [A1] Store `body` as asset `sha256`: refused before a byte is read when its declared length is over the
   * limit, and as soon as it grows past it otherwise (413); kept only if its SHA-256 is `sha256` (422).
   */
  async put(sha256: string, body: Readable, declaredBytes?: number): Promise<AssetStored> {
    const final = this.file(sha256);
    const { maxBytes, maxTotalBytes } = this.limits;
    if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge(declaredBytes, maxBytes);
    if (maxTotalBytes !== undefined && declaredBytes !== undefined && this.total + declaredBytes > maxTotalBytes) throw full(maxTotalBytes);
    const temp = path.join(this.dir, INCOMING_DIR, `${sha256}.${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(tooLarge(maxBytes, maxBytes, true));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, check, fs.createWriteStream(temp, { flags: 'wx' }));
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new ApiError('ASSET_HASH_MISMATCH', `the body's SHA-256 is ${actual}, not the ${sha256} of the URL; nothing was stored`);
      if (maxTotalBytes !== undefined && this.total + size > maxTotalBytes) throw full(maxTotalBytes);
      // Durable before it is visible: a crash after the link cannot leave a short file under a good name.
      const handle = await fsp.open(temp, 'r');
      await handle.sync().finally(() => handle.close());
      // link(2) fails when the name exists: of two uploads of the same bytes, one creates it, atomically.
      const created = await fsp.link(temp, final).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') return false;
          throw err;
        },
      );
      if (created) {
        await syncDir(this.dir);
        this.total += size;
      }
      return { sha256, size, created };
    } catch (err) {
      if (isDiskFull(err)) throw new ApiError('STORE_FULL', 'no disk space left for the asset: nothing was stored; retry once space is freed');
      throw err;
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }
}

/** `grown`: the body went past the limit as it came, so its full size is not known. */
function tooLarge(bytes: number, max: number, grown = false): ApiError {
  const size = grown ? `more than ${max}` : String(bytes);
  return new ApiError('PAYLOAD_TOO_LARGE', `the asset is ${size} bytes; the limit is ${max} (${mib(max)}, BARNRAISE_ASSET_MAX_BYTES)`);
}

function full(max: number): ApiError {
  return new ApiError('STORE_FULL', `the assets would take more than ${mib(max)} (BARNRAISE_ASSET_MAX_TOTAL_BYTES): nothing was stored`);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  await handle.sync().finally(() => handle.close());
}
