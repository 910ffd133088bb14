/**
 * Pyodide (CPython compiled to WebAssembly, the npm package `pyodide`) as assets of this master: its files
 * are copied from node_modules into the asset store (rule A1, by hash) the first time a Python job comes,
 * never before, so a master that runs only JavaScript jobs neither hashes nor serves them.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { PYODIDE_ASSET_NAMES } from '@barnraise/shared';
import type { AssetStore } from '../assets/store.ts';

/** The files a Python job needs, by the asset names runtime.js reads them under (about 13.5 MB, 6.3 MB gzipped). */
export const PYODIDE_FILES = PYODIDE_ASSET_NAMES;

const require = createRequire(import.meta.url);

/** The directory of the installed `pyodide` package. */
export function pyodideDir(): string {
  return path.dirname(require.resolve('pyodide/package.json'));
}

/** The installed Pyodide's version. */
export function pyodideVersion(): string {
  return (require('pyodide/package.json') as { version: string }).version;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Each Pyodide file's asset name → hash, put into `store` when it lacks them. Memoized per store. */
const stored = new WeakMap<AssetStore, Promise<Record<string, string>>>();

export function pyodideAssets(store: AssetStore): Promise<Record<string, string>> {
  let done = stored.get(store);
  if (!done) {
    done = (async () => {
      const dir = pyodideDir();
      const out: Record<string, string> = {};
      for (const name of PYODIDE_FILES) {
        const file = path.join(dir, name);
        const sha = await sha256Of(file);
        if ((await store.size(sha)) === undefined) await store.put(sha, createReadStream(file));
        out[name] = sha;
      }
      return out;
    })();
    done.catch(() => stored.delete(store));
    stored.set(store, done);
  }
  return done;
}
