// Which program `barnraise` runs: the build (dist/cli.js, scripts/build.mjs) when there is one newer than
// every source file it is made from, else the TypeScript source. A stale build is never run: after an edit or
// a `git pull`, the command runs the sources (through tsx, slower to start) until the next build. The master
// and worker started from source ask the same question for their threads (src/paths.ts).
import fs from 'node:fs';
import path from 'node:path';

/** The sources a build bundles: the server and the workspace packages it imports. */
const SOURCE_DIRS = ['src', '../shared/src', '../client/src'];

/** The newest modification time of any file under `dir`, in ms (0 when it has none). */
function newestUnder(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** True when `serverDir` has a build (dist/cli.js) newer than every source file it is made from. */
export function buildIsCurrent(serverDir) {
  let builtAt;
  try {
    builtAt = fs.statSync(path.join(serverDir, 'dist', 'cli.js')).mtimeMs;
  } catch {
    return false;
  }
  return SOURCE_DIRS.every((dir) => {
    const abs = path.resolve(serverDir, dir);
    return !fs.existsSync(abs) || newestUnder(abs) <= builtAt;
  });
}

/** `{ file, built }`: the CLI module to import from the server package at `serverDir`. */
export function cliEntry(serverDir) {
  return buildIsCurrent(serverDir) ? { file: path.join(serverDir, 'dist', 'cli.js'), built: true } : { file: path.join(serverDir, 'src', 'cli.ts'), built: false };
}
