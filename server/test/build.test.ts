/**
 * The build (scripts/build.mjs) and the launcher (bin/barnraise.js, bin/entry.js): `pnpm barnraise` and
 * `npm start` run plain JavaScript while it is current, the TypeScript sources otherwise.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEntry, currentBuild } from '../bin/entry.js';
import { threadEntry } from '../src/paths.ts';
import { api, expectExactlyOnce, SERVER_DIR, startMaster, startWorker, tempDir, waitFor, type Proc } from './helpers.ts';

const dirs: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Write `file` (making its directory) and set its modification time to `at` (ms). */
function put(file: string, at: number, text = ''): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  fs.utimesSync(file, at / 1000, at / 1000);
}

/** Build the server (scripts/build.mjs); returns the directory current.json names after it. */
function build(): string {
  const built = spawnSync(process.execPath, [path.join(SERVER_DIR, 'scripts/build.mjs')], { encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  return currentBuild(SERVER_DIR)!;
}

describe('the launcher', () => {
  it('runs a build only while no source it bundles was changed after the build read them', () => {
    const root = tempDir('barnraise-build-');
    dirs.push(root);
    const server = path.join(root, 'server');
    const t = Date.now() - 60_000;
    put(path.join(server, 'src', 'cli.ts'), t);
    put(path.join(server, 'src', 'store', 'deep', 'x.ts'), t);
    put(path.join(root, 'shared', 'src', 'index.ts'), t);
    put(path.join(root, 'client', 'src', 'index.ts'), t);
    const source = { file: path.join(server, 'src', 'cli.ts'), built: false };
    expect(cliEntry(server, {}), 'no build yet').toEqual(source);

    put(path.join(server, 'dist', 'b1', 'cli.js'), t + 10_000);
    put(path.join(server, 'dist', 'current.json'), t + 10_000, JSON.stringify({ id: 'b1', sourcesAt: t + 5_000 }));
    expect(currentBuild(server)).toBe(path.join(server, 'dist', 'b1'));
    expect(cliEntry(server, {})).toEqual({ file: path.join(server, 'dist', 'b1', 'cli.js'), built: true });
    expect(cliEntry(server, { BARNRAISE_FROM_SOURCE: '1' }), 'BARNRAISE_FROM_SOURCE=1 runs the sources').toEqual(source);

    // An edit anywhere the bundle reads from, however deep, makes the build stale; one after the build began
    // reading (sourcesAt) though before it finished writing counts too.
    for (const edited of [path.join(server, 'src', 'store', 'deep', 'x.ts'), path.join(root, 'shared', 'src', 'index.ts'), path.join(root, 'client', 'src', 'index.ts')]) {
      fs.utimesSync(edited, (t + 6_000) / 1000, (t + 6_000) / 1000);
      expect(cliEntry(server, {}), `after editing ${path.relative(root, edited)}`).toEqual(source);
      fs.utimesSync(edited, t / 1000, t / 1000);
      expect(cliEntry(server, {}).built).toBe(true);
    }
    // Tests are not bundled: editing one leaves the build current.
    put(path.join(server, 'src', 'store', 'x.test.ts'), t + 30_000);
    expect(cliEntry(server, {}).built).toBe(true);
    // A pointer to a build that is not there is no build.
    put(path.join(server, 'dist', 'current.json'), t + 10_000, JSON.stringify({ id: 'gone', sourcesAt: t + 5_000 }));
    expect(cliEntry(server, {})).toEqual(source);
  });

  it('a rebuild leaves the earlier build in place for the processes running it, and threads follow the current one', () => {
    const first = build();
    const second = build();
    expect(second).not.toBe(first);
    expect(fs.existsSync(path.join(first, 'cli.js')), 'the earlier build is still there').toBe(true);
    expect(fs.existsSync(path.join(first, 'worker-thread.js'))).toBe(true);
    // From source: threads from the current build, or from the sources when asked.
    expect(fileURLToPath(threadEntry('worker', {}))).toBe(path.join(second, 'worker-thread.js'));
    expect(fileURLToPath(threadEntry('store', { BARNRAISE_FROM_SOURCE: '1' }))).toBe(path.join(SERVER_DIR, 'src', 'store', 'thread-boot.mjs'));
  });
});

/** Run a 500-task job on `master` with one worker from `worker`; every result exact, each index once. */
async function runJob(url: string, token: string, worker: Proc): Promise<void> {
  procs.push(worker);
  const client = api(url, token);
  const job = await client.createJob({ name: 'built', code: 'export default (n) => n * 3 + 1', inputs: Array.from({ length: 500 }, (_, i) => i) });
  const final = await waitFor('job completed', async () => {
    const j = await client.job(job.id);
    return j.status === 'completed' && j;
  }, 60_000, 100);
  expect(final.counts).toMatchObject({ done: 500, failed: 0 });
  expect(expectExactlyOnce(await client.results(job.id), 500, (i) => i * 3 + 1)).toEqual([]);
}

describe('the build', () => {
  it('a master and a worker started as `pnpm barnraise` starts them run a job from the build: every result exact, each index once', async () => {
    if (!currentBuild(SERVER_DIR)) build();
    expect(cliEntry(SERVER_DIR, {}).built, 'the launcher picks the build').toBe(true);
    const dataDir = tempDir();
    dirs.push(dataDir);
    const master = await startMaster({ dataDir, token: 'build-test-token', bin: true });
    procs.push(master);
    // The pages come from web/dist, found from the build's own location (src/paths.ts), when they are built.
    if (fs.existsSync(path.join(SERVER_DIR, '../web/dist/index.html'))) expect((await api(master.url, 'x').raw('/')).status).toBe(200);
    await runJob(master.url, 'build-test-token', startWorker(master.url, 2, [], {}, { bin: true }));
  }, 90_000);

  it('with BARNRAISE_FROM_SOURCE=1 the same runs from the TypeScript sources, threads too (thread-boot.mjs)', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const env = { BARNRAISE_FROM_SOURCE: '1' };
    const master = await startMaster({ dataDir, token: 'source-test-token', env, bin: true });
    procs.push(master);
    await runJob(master.url, 'source-test-token', startWorker(master.url, 2, [], env, { bin: true }));
  }, 90_000);
});
