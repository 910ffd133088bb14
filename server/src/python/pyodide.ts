/**
 * Pyodide (CPython compiled to WebAssembly, the npm package `pyodide`) as assets of this master: its files
 * are copied from node_modules into the asset store (rule A1, by hash) the first time a Python job comes,
 * never before, so a master that runs only JavaScript jobs neither hashes nor serves them. With them goes a
 * memory snapshot of an interpreter just started (gzipped, about 6 MB), made once by this master on a thread
 * of its own and kept in the store, its hash in a small file beside the assets, so that a restarted master
 * serves the same one: volunteers start each interpreter from it instead of initialising CPython (Y4).
 */
import { createReadStream } from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { PYODIDE_FILE_NAMES, PYODIDE_SNAPSHOT_NAME } from '@barnraise/shared';
import type { AssetStore } from '../assets/store.ts';
import { SOURCE_DIR } from '../paths.ts';

/** The files a Python job needs, by the asset names runtime.js reads them under (about 13.5 MB, 6.3 MB gzipped). */
export const PYODIDE_FILES = PYODIDE_FILE_NAMES;

/** Time the snapshot's thread may take (Pyodide starting on a busy machine); past it, jobs go without one. */
const SNAPSHOT_MS = 120_000;

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

/**
 * A gzipped memory snapshot of Pyodide just started, nothing run in it yet, made on a thread (check-thread.mjs)
 * that then stops. Undefined if it could not be made: jobs then start CPython the long way.
 */
export function makePyodideSnapshot(): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(path.join(SOURCE_DIR, 'python/check-thread.mjs'), { workerData: { snapshot: true } });
    worker.unref();
    const done = (bytes: Uint8Array | undefined) => {
      clearTimeout(timer);
      resolve(bytes);
      void worker.terminate();
    };
    const timer = setTimeout(() => done(undefined), SNAPSHOT_MS);
    worker.on('message', (m: { ready?: boolean; snapshot?: Uint8Array }) => {
      if (m.ready) done(m.snapshot ? new Uint8Array(m.snapshot.buffer, m.snapshot.byteOffset, m.snapshot.byteLength) : undefined);
    });
    worker.once('error', () => done(undefined));
    worker.once('exit', () => done(undefined));
  });
}

/** The snapshot's hash for these Pyodide files, from the file that keeps it, when the store still has it. */
async function storedSnapshot(store: AssetStore, pointer: string): Promise<string | undefined> {
  const sha = (await fsp.readFile(pointer, 'utf8').catch(() => '')).trim();
  return /^[0-9a-f]{64}$/.test(sha) && (await store.size(sha)) !== undefined ? sha : undefined;
}

/** Each Pyodide file's asset name → hash (the snapshot's too, when there is one), put into `store` when it lacks them. Memoized per store. */
const stored = new WeakMap<AssetStore, Promise<Record<string, string>>>();

export function pyodideAssets(store: AssetStore, snapshot: () => Promise<Uint8Array | undefined> = makePyodideSnapshot): Promise<Record<string, string>> {
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
      // A snapshot fits only the build it was made of: it is kept per set of Pyodide files.
      const build = createHash('sha256').update(JSON.stringify(out)).digest('hex').slice(0, 16);
      const pointer = path.join(store.dir, `pyodide-snapshot.${build}`);
      // BARNRAISE_PYODIDE_SNAPSHOT=off: no snapshot (every interpreter initialises CPython; for comparison).
      const wanted = process.env.BARNRAISE_PYODIDE_SNAPSHOT !== 'off';
      let snap = wanted ? await storedSnapshot(store, pointer) : undefined;
      if (wanted && !snap) {
        const bytes = await snapshot();
        if (bytes) {
          snap = createHash('sha256').update(bytes).digest('hex');
          await store.put(snap, Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), bytes.byteLength);
          const tmp = `${pointer}.${process.pid}`;
          await fsp.writeFile(tmp, snap);
          await fsp.rename(tmp, pointer);
        }
      }
      if (snap) out[PYODIDE_SNAPSHOT_NAME] = snap;
      return out;
    })();
    done.catch(() => stored.delete(store));
    stored.set(store, done);
  }
  return done;
}
