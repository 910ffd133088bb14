// Which program `barnraise` runs: the build (scripts/build.mjs) when there is one made after the last edit of
// every source file it bundles, else the TypeScript source. A stale build is never run: after an edit or a
// `git pull`, the command runs the sources (through tsx, slower to start) until the next build. The master
// and the worker started from source ask the same question for their threads (src/paths.ts).
//
// The build lives in dist/<id>/, named by dist/current.json, which also says when the build began reading
// the sources: a build is current while no source file is newer than that. Each process resolves the
// pointer once, so a rebuild never changes the files under a process that is running.
import fs from 'node:fs';
import path from 'node:path';

/** The sources a build bundles: the server and the workspace packages it imports. */
const SOURCE_DIRS = ['src', '../shared/src', '../client/src'];
/** Files a build reads (tests are not bundled, so editing one leaves the build current). */
const BUNDLED = /\.(ts|mts|js|mjs|json)$/;
const TEST = /\.test\.ts$/;

/** The newest modification time of a bundled file under `dir`, in ms (0 when it has none). */
function newestUnder(dir) {
  let newest = 0;
  // By hand, not readdirSync's `recursive`, which early Node 20 releases got wrong (nodejs/node#48858).
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(file));
    else if (entry.isFile() && BUNDLED.test(entry.name) && !TEST.test(entry.name)) newest = Math.max(newest, fs.statSync(file).mtimeMs);
  }
  return newest;
}

/** The current build of the server package at `serverDir`: its directory, or null when there is none current. */
export function currentBuild(serverDir) {
  let pointer;
  try {
    pointer = JSON.parse(fs.readFileSync(path.join(serverDir, 'dist', 'current.json'), 'utf8'));
  } catch {
    return null;
  }
  const dir = path.join(serverDir, 'dist', String(pointer.id));
  if (typeof pointer.sourcesAt !== 'number' || !fs.existsSync(path.join(dir, 'cli.js'))) return null;
  const fresh = SOURCE_DIRS.every((d) => {
    const abs = path.resolve(serverDir, d);
    return !fs.existsSync(abs) || newestUnder(abs) <= pointer.sourcesAt;
  });
  return fresh ? dir : null;
}

/** True when `env` asks for the TypeScript sources even with a current build (BARNRAISE_FROM_SOURCE=1). */
export function fromSource(env = process.env) {
  return env.BARNRAISE_FROM_SOURCE === '1';
}

/** `{ file, built }`: the CLI module to import from the server package at `serverDir`. */
export function cliEntry(serverDir, env = process.env) {
  const dir = fromSource(env) ? null : currentBuild(serverDir);
  return dir ? { file: path.join(dir, 'cli.js'), built: true } : { file: path.join(serverDir, 'src', 'cli.ts'), built: false };
}
