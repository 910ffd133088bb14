// Build the master and the `barnraise` CLI into plain JavaScript, so that they start without compiling
// TypeScript through a loader: a master starts in about half the time, a worker joins in a third
// (BENCHMARKS.md, "Eighth pass"). `npm start` and scripts/setup.sh run it; bin/barnraise.js runs the build
// while it is current (bin/entry.js).
//
// One ESM bundle with code splitting: npm packages stay external (loaded from node_modules as they are), our
// workspace packages (@barnraise/shared, @barnraise/client) are TypeScript and go in. Modules loaded with
// `await import()` stay lazy as chunks of their own (PostgreSQL, esbuild, mDNS browsing). The two worker
// threads are entries of their own, beside the CLI, where src/paths.ts looks for them.
//
// Each build goes to a directory of its own, dist/<id>/, and dist/current.json then names it (a rename: a
// process starting meanwhile reads the old pointer or the new one). Earlier builds stay a while (KEEP_*), so
// that a process running one still finds its lazy chunks and its thread entries after a rebuild. Source maps are
// written beside the code; run with NODE_OPTIONS=--enable-source-maps to see TypeScript lines in stacks.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(SERVER_DIR, 'dist');
/**
 * Earlier builds are removed by a later one once older than a day, or older than ten minutes and not among
 * the ten newest (about 1.6 MB each): a process keeps its build through many rebuilds, and a day of edits and
 * builds does not pile up.
 */
const KEEP_MS = 24 * 3600_000;
const KEEP_NEWEST = 10;
const KEEP_RECENT_MS = 10 * 60_000;
/**
 * The build counts as reading the sources from this long before it starts: a file's modification time comes
 * from the kernel's coarse clock, which can trail Date.now() by a few milliseconds, and an edit saved as the
 * build starts must make it stale rather than be taken as read.
 */
const CLOCK_MARGIN_MS = 100;

const started = performance.now();
const sourcesAt = Date.now() - CLOCK_MARGIN_MS;
const id = `${Date.now().toString(36)}-${process.pid}`;
const pkg = JSON.parse(fs.readFileSync(path.join(SERVER_DIR, 'package.json'), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@barnraise/'));
const outdir = path.join(DIST, id);
await esbuild.build({
  absWorkingDir: SERVER_DIR,
  entryPoints: { cli: 'src/cli.ts', 'store-thread': 'src/store/thread.ts', 'worker-thread': 'src/worker/thread.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...external, ...external.map((name) => `${name}/*`)],
  // Where the server package is from the bundle's own directory (src/paths.ts).
  define: { __BARNRAISE_SERVER_DIR__: JSON.stringify(path.relative(outdir, SERVER_DIR)) },
  sourcemap: 'linked',
  logLevel: 'warning',
});
const staged = path.join(DIST, `current.json.${process.pid}.tmp`);
fs.writeFileSync(staged, `${JSON.stringify({ id, sourcesAt })}\n`);
fs.renameSync(staged, path.join(DIST, 'current.json'));
const earlier = [];
for (const entry of fs.readdirSync(DIST)) {
  if (entry === id || entry === 'current.json' || entry.endsWith('.tmp')) continue;
  try {
    earlier.push({ file: path.join(DIST, entry), age: Date.now() - fs.statSync(path.join(DIST, entry)).mtimeMs });
  } catch {
    // Removed meanwhile by another build.
  }
}
earlier.sort((a, b) => a.age - b.age);
earlier.forEach(({ file, age }, k) => {
  if (age > KEEP_MS || (age > KEEP_RECENT_MS && k >= KEEP_NEWEST - 1)) fs.rmSync(file, { recursive: true, force: true });
});
process.stderr.write(`built ${path.relative(process.cwd(), outdir) || outdir} in ${Math.round(performance.now() - started)} ms\n`);
