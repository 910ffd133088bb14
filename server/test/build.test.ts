/**
 * The build (scripts/build.mjs) and the launcher (bin/barnraise.js, bin/entry.js): `pnpm barnraise` and
 * `npm start` run plain JavaScript while it is current, the TypeScript sources otherwise.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIsCurrent, cliEntry } from '../bin/entry.js';
import { api, expectExactlyOnce, SERVER_DIR, startMaster, startWorker, tempDir, waitFor, type Proc } from './helpers.ts';

const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Write `file` (making its directory) and set its modification time to `at` (ms). */
function put(file: string, at: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
  fs.utimesSync(file, at / 1000, at / 1000);
}

describe('the launcher', () => {
  it('runs the build only while it is newer than every source it is made from (the server and the workspace packages)', () => {
    const root = tempDir('barnraise-build-');
    dirs.push(root);
    const server = path.join(root, 'server');
    const t = Date.now() - 60_000;
    put(path.join(server, 'src', 'cli.ts'), t);
    put(path.join(server, 'src', 'store', 'deep', 'x.ts'), t);
    put(path.join(root, 'shared', 'src', 'index.ts'), t);
    put(path.join(root, 'client', 'src', 'index.ts'), t);
    expect(buildIsCurrent(server), 'no build yet').toBe(false);
    expect(cliEntry(server)).toEqual({ file: path.join(server, 'src', 'cli.ts'), built: false });

    put(path.join(server, 'dist', 'cli.js'), t + 10_000);
    expect(buildIsCurrent(server)).toBe(true);
    expect(cliEntry(server)).toEqual({ file: path.join(server, 'dist', 'cli.js'), built: true });

    // An edit anywhere the bundle reads from, however deep, makes the build stale.
    for (const edited of [path.join(server, 'src', 'store', 'deep', 'x.ts'), path.join(root, 'shared', 'src', 'index.ts'), path.join(root, 'client', 'src', 'index.ts')]) {
      fs.utimesSync(edited, (t + 20_000) / 1000, (t + 20_000) / 1000);
      expect(buildIsCurrent(server), `after editing ${path.relative(root, edited)}`).toBe(false);
      fs.utimesSync(edited, t / 1000, t / 1000);
      expect(buildIsCurrent(server)).toBe(true);
    }
  });
});

describe('the build', () => {
  it('a master and a worker started as `pnpm barnraise` starts them run a job from the build: every result exact, each index once', async () => {
    if (!buildIsCurrent(SERVER_DIR)) {
      const built = spawnSync(process.execPath, [path.join(SERVER_DIR, 'scripts/build.mjs')], { encoding: 'utf8' });
      expect(built.status, built.stderr).toBe(0);
    }
    expect(cliEntry(SERVER_DIR), 'the launcher picks the build').toEqual({ file: path.join(SERVER_DIR, 'dist', 'cli.js'), built: true });
    const dataDir = tempDir();
    dirs.push(dataDir);
    const token = 'build-test-token';
    const master = await startMaster({ dataDir, token, bin: true });
    procs.push(master);
    const client = api(master.url, token);
    // The pages come from web/dist, found from the build's own location (src/paths.ts), when they are built.
    if (fs.existsSync(path.join(SERVER_DIR, '../web/dist/index.html'))) expect((await client.raw('/')).status).toBe(200);
    const job = await client.createJob({ name: 'built', code: 'export default (n) => n * 3 + 1', inputs: Array.from({ length: 500 }, (_, i) => i) });
    procs.push(startWorker(master.url, 2, [], {}, { bin: true }));
    const final = await waitFor('job completed', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 60_000, 100);
    expect(final.counts).toMatchObject({ done: 500, failed: 0 });
    const lines = await client.results(job.id);
    expect(expectExactlyOnce(lines, 500, (i) => i * 3 + 1)).toEqual([]);
  }, 90_000);
});
