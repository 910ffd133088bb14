/** `--asset NAME=PATH`: files a job reads through `ctx.assets`, uploaded by content hash before the job. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from 'commander';
import { NotFoundError, type Barnraise } from '@barnraise/client';
import type { HandedAsset } from '@barnraise/shared';
import { CliError } from './common.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Commander collector for repeated `--asset NAME=PATH` flags: name → path. */
export function assetFlag(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  const name = value.slice(0, eq);
  const file = value.slice(eq + 1);
  if (eq < 1 || !file) throw new InvalidArgumentError('expected NAME=PATH, e.g. model.wasm=./build/model.wasm');
  if (!NAME.test(name)) throw new InvalidArgumentError(`asset name "${name}": letters, digits, '.', '_' and '-', up to 128`);
  if (name in previous) throw new InvalidArgumentError(`asset "${name}" is given twice`);
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new InvalidArgumentError(`asset "${name}": no file at ${file}`);
  return { ...previous, [name]: file };
}

/**
 * Upload each asset (PUT /api/assets/<sha256>, streamed from its file; skipped when the master has it);
 * returns name → sha256, what a job body's `assets` holds.
 */
export async function uploadAssets(client: Barnraise, assets: Record<string, string>): Promise<Record<string, string>> {
  const named: Record<string, string> = {};
  for (const [name, file] of Object.entries(assets)) {
    try {
      named[name] = await client.uploadAsset(file);
    } catch (err) {
      if (err instanceof NotFoundError) throw new CliError('assets are not supported by this master (PUT /api/assets answered 404)');
      throw err;
    }
  }
  return named;
}

/** The assets as a local run hands them to compute threads (`try`): each file by its hash and path. */
export async function localAssets(assets: Record<string, string>): Promise<HandedAsset[]> {
  return Promise.all(
    Object.entries(assets).map(async ([name, file]) => {
      const hash = createHash('sha256');
      await pipeline(fs.createReadStream(file), hash);
      return { name, sha256: hash.digest('hex'), size: (await fs.promises.stat(file)).size, source: file };
    }),
  );
}
