// Build the master and the `barnraise` CLI into plain JavaScript (server/dist), so that they start without
// compiling TypeScript through a loader: a master starts in about half the time, a CLI command in a third
// (BENCHMARKS.md). `npm start` runs it; bin/barnraise.js runs the build while it is newer than the sources.
//
// One ESM bundle with code splitting: npm packages stay external (loaded from node_modules as they are), our
// workspace packages (@barnraise/shared, @barnraise/client) are TypeScript and go in. Modules loaded with
// `await import()` stay lazy as chunks of their own (PostgreSQL, esbuild, mDNS browsing). The two worker
// threads are entries of their own, named as src/paths.ts expects.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(SERVER_DIR, 'dist');

export async function build({ quiet = false } = {}) {
  const pkg = JSON.parse(fs.readFileSync(path.join(SERVER_DIR, 'package.json'), 'utf8'));
  const external = Object.keys(pkg.dependencies).filter((name) => !name.startsWith('@barnraise/'));
  // Built beside dist and swapped in whole, so that a process starting meanwhile finds the old build or the
  // new one, never half of one.
  const staging = `${OUT}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  const started = performance.now();
  await esbuild.build({
    absWorkingDir: SERVER_DIR,
    entryPoints: { cli: 'src/cli.ts', 'store-thread': 'src/store/thread.ts', 'worker-thread': 'src/worker/thread.ts' },
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...external, ...external.map((name) => `${name}/*`)],
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const old = `${OUT}.${process.pid}.old`;
  if (fs.existsSync(OUT)) fs.renameSync(OUT, old);
  fs.renameSync(staging, OUT);
  fs.rmSync(old, { recursive: true, force: true });
  if (!quiet) process.stderr.write(`built ${path.relative(process.cwd(), OUT) || OUT} in ${Math.round(performance.now() - started)} ms\n`);
  return OUT;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await build();
