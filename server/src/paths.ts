/**
 * Where the master's files are, whether it runs from TypeScript source (`src/`, through tsx) or from the
 * build (`dist/`, `scripts/build.mjs`). This module sits one directory below the package in both: in the
 * build, esbuild puts every module into chunks directly in `dist/`, so `import.meta.url` there is one level
 * down too. Every other module asks here instead of resolving paths from its own location, which the
 * bundle changes.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIsCurrent } from '../bin/entry.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** True when running the build. */
export const BUILT = !import.meta.url.endsWith('.ts');
/** The server package's directory. */
export const SERVER_DIR = path.resolve(here, '..');
/** The pages `pnpm --filter @barnraise/web build` makes. */
export const WEB_DIST = path.resolve(SERVER_DIR, '../web/dist');
/** Files the server reads at run time, kept as they are in its source tree. */
export const SOURCE_DIR = path.join(SERVER_DIR, 'src');

let current: boolean | undefined;

/**
 * The entry of a worker thread. From the build, the thread's own bundle. From source, the same bundle while
 * the build is current (the rule of bin/barnraise.js, checked once): the same code, and a thread started
 * under tsx takes about a second of CPU to load (its own loader hooks, every module compiled), which 16 of
 * them in one process spend at once. Else a small JS file that registers tsx first (a worker thread does not
 * inherit its parent's loader hooks) and loads the thread's TypeScript.
 */
export function threadEntry(source: 'store' | 'worker'): URL {
  if (BUILT) return pathToFileURL(path.join(here, `${source}-thread.js`));
  current ??= buildIsCurrent(SERVER_DIR);
  return current ? pathToFileURL(path.join(SERVER_DIR, 'dist', `${source}-thread.js`)) : pathToFileURL(path.join(SOURCE_DIR, source, 'thread-boot.mjs'));
}
