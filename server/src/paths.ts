/**
 * Where the master's files are, whether it runs from TypeScript source (`src/`, through tsx) or from a build
 * (`dist/<id>/`, scripts/build.mjs; the bench bundles its clients the same way). From source this module
 * sits one directory below the package; a build says where the package is from its own directory
 * (`__BARNRAISE_SERVER_DIR__`, defined by esbuild), since every module there is in chunks of one directory.
 * Every other module asks here instead of resolving paths from its own location, which the bundle changes.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { currentBuild, fromSource } from '../bin/entry.js';

declare const __BARNRAISE_SERVER_DIR__: string | undefined;

const here = path.dirname(fileURLToPath(import.meta.url));
/** True when running a build. */
const BUILT = !import.meta.url.endsWith('.ts');
/** The server package's directory. */
export const SERVER_DIR = typeof __BARNRAISE_SERVER_DIR__ === 'string' ? path.resolve(here, __BARNRAISE_SERVER_DIR__) : path.resolve(here, '..');
/** The pages `pnpm --filter @barnraise/web build` makes. */
export const WEB_DIST = path.resolve(SERVER_DIR, '../web/dist');
/** Files the server reads at run time, kept as they are in its source tree. */
export const SOURCE_DIR = path.join(SERVER_DIR, 'src');

let build: string | null | undefined;

/**
 * The entry of a worker thread. From a build, the thread's own bundle beside it. From source, the current
 * build's (the rule of bin/barnraise.js, checked once; BARNRAISE_FROM_SOURCE=1 says no): the same code, and
 * a thread started under tsx takes about a second of CPU to load (its own loader hooks, every module
 * compiled), which 16 of them in one process spend at once. Else a small JS file that registers tsx first
 * (a worker thread does not inherit its parent's loader hooks) and loads the thread's TypeScript.
 */
export function threadEntry(source: 'store' | 'worker', env: NodeJS.ProcessEnv = process.env): URL {
  if (BUILT) return pathToFileURL(path.join(here, `${source}-thread.js`));
  if (!fromSource(env)) {
    if (build === undefined) build = currentBuild(SERVER_DIR);
    if (build) return pathToFileURL(path.join(build, `${source}-thread.js`));
  }
  return pathToFileURL(path.join(SOURCE_DIR, source, 'thread-boot.mjs'));
}
