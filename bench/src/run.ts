/**
 * `pnpm bench [--quick] [--only dispatch,common,scale,browser,ingest,recovery,validation,cluster,python] [--out bench-results/latest.json] [--profile DIR]`
 *
 * Runs each benchmark in turn (each starts and ends its own processes), prints every figure beside what it
 * is compared against and its target, and writes all numbers plus the machine to JSON (and the table as
 * Markdown beside it).
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Bench, BenchResult } from './lib/bench.ts';
import { machineInfo } from './lib/machine.ts';
import { currentBuild, fromSource } from '../../server/bin/entry.js';
import { buildClients } from './lib/build-clients.ts';
import { killAllStarted, REPO_ROOT, useBuiltClients } from './lib/proc.ts';
import { formatRows, Verdict } from './lib/table.ts';

const BENCHES: Record<string, () => Promise<Bench>> = {
  dispatch: async () => (await import('./dispatch.ts')).dispatchBench,
  common: async () => (await import('./common.ts')).commonBench,
  scale: async () => (await import('./scale.ts')).scaleBench,
  browser: async () => (await import('./browser.ts')).browserBench,
  ingest: async () => (await import('./ingest.ts')).ingestBench,
  recovery: async () => (await import('./recovery.ts')).recoveryBench,
  validation: async () => (await import('./validation.ts')).validationBench,
  cluster: async () => (await import('./cluster.ts')).clusterBench,
  python: async () => (await import('./python.ts')).pythonBench,
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results/latest.json' },
    profile: { type: 'string' },
  },
  strict: true,
});
const quick = values.quick!;
// The quick run stays under 2 minutes without python (about 100 s of Chromium and Pyodide starts) and the
// cluster (masters and a database per run, about 22 s); ask for them by name.
const QUICK_SKIPS = new Set(['python', 'cluster']);
const selected = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : Object.keys(BENCHES).filter((name) => !(quick && QUICK_SKIPS.has(name)));
for (const name of selected) if (!BENCHES[name]) throw new Error(`unknown benchmark "${name}"; choose from ${Object.keys(BENCHES).join(', ')}`);

/** A benchmark still running after this is abandoned (its processes killed) and reported as an error. */
const LIMIT_MS = quick ? 90_000 : 20 * 60_000;
/** Benchmarks that run many jobs (validation: scenarios × seeds, a master each) get longer in the full run. */
const LIMITS_FULL_MS: Record<string, number> = { validation: 60 * 60_000 };

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllStarted();
    process.exit(130);
  });
}
process.once('exit', killAllStarted);

const limitOf = (name: string) => (quick ? LIMIT_MS : (LIMITS_FULL_MS[name] ?? LIMIT_MS));

const started = performance.now();
// Other work on the machine skews every figure: the load average at the start and end goes in the report.
const loadAtStart = os.loadavg();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
log(`${quick ? 'quick' : 'full'} run: ${selected.join(', ')}`);

// The master and the CLI as `npm start` runs them: built (server/scripts/build.mjs, about 0.2 s).
execFileSync(process.execPath, [path.join(REPO_ROOT, 'server/scripts/build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
// bin/barnraise.js runs the sources instead while a file is newer than the build: say so rather than measure tsx.
if (!currentBuild(path.join(REPO_ROOT, 'server'))) throw new Error('server/dist is not current after building it (a source file dated in the future?)');
if (fromSource()) log('BARNRAISE_FROM_SOURCE=1: masters and workers run the TypeScript sources through tsx, not what npm start runs');
// The bench's own client processes too, so that their starts (about ten in a quick run) cost less.
useBuiltClients(await buildClients());
log('built server/dist and the bench clients');

const results: Array<BenchResult & { wallMs: number; error?: string }> = [];
for (const name of selected) {
  const t0 = performance.now();
  log(`${name}: start`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const bench = await BENCHES[name]!();
    const result = await Promise.race([
      bench({ quick, log: (msg) => log(`${name}: ${msg}`), ...(values.profile ? { profileDir: path.resolve(values.profile, name) } : {}) }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not finish within ${limitOf(name) / 1000} s`)), limitOf(name)))),
    ]);
    results.push({ ...result, wallMs: performance.now() - t0 });
    process.stdout.write(`\n${formatRows(result.rows)}\n\n`);
  } catch (err) {
    // A benchmark that fails or overruns is reported; the others still run. Its processes are ended here.
    killAllStarted();
    const message = (err as Error)?.message ?? String(err);
    log(`${name}: ERROR ${message}`);
    results.push({
      name,
      rows: [{ bench: name, figure: 'run', value: 'failed', beside: message.split('\n')[0]!.slice(0, 160), target: '', verdict: Verdict.error }],
      data: {},
      notes: [],
      wallMs: performance.now() - t0,
      error: message,
    });
  } finally {
    clearTimeout(timer);
  }
  log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const rows = results.flatMap((r) => r.rows);
const wallMs = performance.now() - started;
const chromium = results.find((r) => r.name === 'browser')?.data.chromiumVersion as string | undefined;
const sqlite = (() => {
  const db = new Database(':memory:');
  try {
    return db.prepare('SELECT sqlite_version()').pluck().get() as string;
  } finally {
    db.close();
  }
})();
const machine = { ...machineInfo({ sqlite, redis: (results.find((r) => r.name === 'dispatch')?.data.redisVersion as string | null | undefined) ?? null }), ...(chromium ? { chromiumDriven: chromium } : {}) };
const load = { atStart: loadAtStart, atEnd: os.loadavg() };
const report = { mode: quick ? 'quick' : 'full', startedAt: new Date(Date.now() - wallMs).toISOString(), wallMs, load, machine, benches: Object.fromEntries(results.map((r) => [r.name, r])) };

const table = formatRows(rows);
const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
const summary = `${quick ? 'Quick' : 'Full'} run, ${(wallMs / 1000).toFixed(1)} s wall, ${machine.cpuModel} × ${machine.cores}, Node ${machine.node}, load average ${loads(load.atStart)} at start, ${loads(load.atEnd)} at end`;
process.stdout.write(`\n${summary}\n\n${table}\n`);
const misses = rows.filter((r) => r.verdict === Verdict.miss || r.verdict === Verdict.error).length;
process.stdout.write(`\n${rows.filter((r) => r.verdict === Verdict.pass).length} PASS, ${misses} MISS or ERROR\n`);

const out = path.resolve(REPO_ROOT, values.out!);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
const notes = results.flatMap((r) => r.notes.map((n) => `- **${r.name}**: ${n}`));
fs.writeFileSync(out.replace(/\.json$/, '') + '.md', `${summary}\n\n${table}\n\n${notes.join('\n')}\n`);
log(`wrote ${path.relative(process.cwd(), out)} and its .md`);
killAllStarted();
process.exit(0);
