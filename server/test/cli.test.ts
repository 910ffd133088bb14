/**
 * The `barnraise` job commands as a user runs them: in a pseudo-terminal (python3's pty module, through
 * pty-run.py) or in a pipe, against a real master with a real headless worker.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, freePort, SERVER_DIR, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'cli-test-token';
const dataDir = tempDir();
const jobDir = tempDir('barnraise-cli-job-');
const CLI = path.join(SERVER_DIR, 'src/cli.ts');
// An absolute loader URL: the CLI runs in the job's directory, where `tsx` cannot be resolved.
const TSX = import.meta.resolve('tsx');
const PTY_RUN = path.join(SERVER_DIR, 'test/pty-run.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
let master: MasterProc;
let worker: Proc;

/** A TypeScript job importing an npm package installed beside it (a local one: no network needed). */
function writeJob(): void {
  const pkg = path.join(jobDir, 'node_modules/left-pad-lite');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'left-pad-lite', version: '1.0.0', main: 'index.js' }));
  fs.writeFileSync(path.join(pkg, 'index.js'), `module.exports = function leftPad(s, n, c) { s = String(s); while (s.length < n) s = c + s; return s; };\n`);
  fs.writeFileSync(
    path.join(jobDir, 'job.ts'),
    `import leftPad from 'left-pad-lite';
interface Input { n: number; ms: number; fail?: boolean }
export default async ({ n, ms, fail }: Input): Promise<string> => {
  await new Promise((r) => setTimeout(r, ms));
  if (fail) throw new Error('asked to fail: ' + n);
  return leftPad(n * n, 6, '0');
};
`,
  );
}

const inputsFile = (name: string, count: number, ms: number, failing: number[] = []) => {
  const lines = Array.from({ length: count }, (_, n) => JSON.stringify({ n, ms, ...(failing.includes(n) ? { fail: true } : {}) }));
  fs.writeFileSync(path.join(jobDir, name), lines.join('\n') + '\n');
  return name;
};
const padded = (n: number) => String(n * n).padStart(6, '0');

interface Run {
  pid: number;
  output: () => string;
  stderr: () => string;
  write(data: string): void;
  exited: Promise<number>;
}

/** Start `barnraise ARGS` in the job's directory, in a pseudo-terminal or with pipes. */
function barnraise(args: string[], opts: { pty?: boolean; stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const command = [process.execPath, '--import', TSX, CLI, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, BARNRAISE_URL: master.url, BARNRAISE_TOKEN: token, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = opts.pty ? spawn('python3', [PTY_RUN, ...command], { cwd: opts.cwd ?? jobDir, env }) : spawn(command[0]!, command.slice(1), { cwd: opts.cwd ?? jobDir, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  return {
    pid: child.pid!,
    output: () => out,
    stderr: () => err,
    write: (data) => child.stdin.write(data),
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : -2)))),
  };
}

async function finished(run: Run, timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise<number>((_, reject) => (timer = setTimeout(() => reject(new Error(`barnraise still running after ${timeoutMs} ms:\n${run.output()}\n${run.stderr()}`)), timeoutMs)))]);
  clearTimeout(timer);
  return { code, stdout: run.output(), stderr: run.stderr() };
}

const resultLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { index: number; status: string; output?: unknown; error?: string });

beforeAll(async () => {
  writeJob();
  master = await startMaster({ dataDir, token });
  worker = startWorker(master.url, 2);
  await waitFor('the worker online', async () => ((await (await fetch(`${master.url}/api/stats`)).json()) as { volunteers: number }).volunteers === 1);
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(jobDir, { recursive: true, force: true });
});

describe.skipIf(!hasPython)('barnraise CLI in a pseudo-terminal (needs python3 for its pty module)', () => {
  it('a TypeScript job importing an npm package beside it is bundled, submitted and followed with a progress bar', async () => {
    const run = barnraise(['submit', 'job.ts', '--inputs', inputsFile('in-60.jsonl', 60, 20), '--out', 'results.jsonl'], { pty: true });
    const { code, stdout } = await finished(run);
    expect(code, stdout).toBe(0);
    // The bar, drawn in place: done/total, failures, rate, time left and the swarm's volunteers.
    expect(stdout).toMatch(/[=-]{24} \d+% \| \d+\/60 ended, 0 failed \| [\d.]+ tasks\/s \| [\dsm?]+ left \| 1 volunteers/);
    expect(stdout).toMatch(/={24} 100% \| 60\/60 ended, 0 failed/);
    expect(stdout).toMatch(/completed: 60 done, 0 failed of 60; results in results\.jsonl/);
    const lines = resultLines(fs.readFileSync(path.join(jobDir, 'results.jsonl'), 'utf8'));
    expect(lines.map((l) => l.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const l of lines) expect(l).toEqual({ index: l.index, status: 'done', output: padded(l.index) });
  });

  it('[J3] Ctrl-C cancels the job on the master, says what had finished, and exits 130', async () => {
    const run = barnraise(['submit', 'job.ts', '--inputs', inputsFile('in-slow.jsonl', 400, 50)], { pty: true });
    const id = (await waitFor('the job submitted', () => /submitted job (j_[\w-]+)/.exec(run.output())?.[1]))!;
    await waitFor('the bar showing progress', () => /[1-9]\d*\/400 ended/.test(run.output()));
    run.write('\x03');
    const { code, stdout } = await finished(run);
    expect(code, stdout).toBe(130);
    expect(stdout).toContain(`cancelling job ${id}`);
    expect(stdout).toMatch(new RegExp(`${id} "job.ts" cancelled: \\d+ done, 0 failed of 400, \\d+ not run`));
    const job = await api(master.url, token).job(id);
    expect(job.status).toBe('cancelled');
    expect(job.counts.done).toBeLessThan(400);
  });
});

describe('barnraise CLI in pipes', () => {
  it('[J2] run: inputs on stdin, results on stdout in input order, plain progress lines, exit 0', async () => {
    const stdin = Array.from({ length: 30 }, (_, n) => JSON.stringify({ n, ms: (30 - n) % 7 })).join('\n');
    const { code, stdout, stderr } = await finished(barnraise(['run', 'job.ts'], { stdin }));
    expect(code, stderr).toBe(0);
    expect(resultLines(stdout)).toEqual(Array.from({ length: 30 }, (_, n) => ({ index: n, status: 'done', output: padded(n) })));
    expect(stderr).toMatch(/job j_[\w-]+: 30\/30 ended, 0 failed, [\d.]+ tasks\/s, 0s left, 1 volunteers/);
    expect(stderr, 'no terminal escapes in a pipe').not.toContain('\x1b');
  });

  it('[T2] exit 1 when some task failed; the failed lines carry their errors; results --failed lists them', async () => {
    const run = barnraise(['submit', 'job.ts', '--inputs', inputsFile('in-failing.json', 12, 1, [3, 7]), '--attempts', '1', '--out', 'failing.jsonl', '--json']);
    const { code, stdout, stderr } = await finished(run);
    expect(code, stderr).toBe(1);
    const summary = JSON.parse(stdout) as { id: string; maxAttempts: number; counts: { done: number; failed: number } };
    expect(summary).toMatchObject({ maxAttempts: 1, counts: { done: 10, failed: 2 } });
    const failed = resultLines(fs.readFileSync(path.join(jobDir, 'failing.jsonl'), 'utf8')).filter((l) => l.status === 'failed');
    expect(failed.sort((a, b) => a.index - b.index)).toEqual([3, 7].map((n) => ({ index: n, status: 'failed', error: `asked to fail: ${n}` })));
    const listed = await finished(barnraise(['results', summary.id, '--failed']));
    expect(resultLines(listed.stdout).map((l) => l.index)).toEqual([3, 7]);
  });

  it('[J4] --detach prints the id; status, results --follow, jobs, cancel and retry work on it', async () => {
    const detached = await finished(barnraise(['submit', 'job.ts', '--inputs', inputsFile('in-detach.jsonl', 20, 5, [4]), '--attempts', '1', '--detach']));
    expect(detached.code, detached.stderr).toBe(0);
    const id = detached.stdout.trim();
    expect(id).toMatch(/^j_[\w-]+$/);
    const followed = await finished(barnraise(['results', id, '--follow']));
    expect(resultLines(followed.stdout).map((l) => l.index).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const status = await finished(barnraise(['status', id, '--json']));
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'completed', counts: { done: 19, failed: 1 } });
    const jobs = await finished(barnraise(['jobs', '--limit', '3']));
    expect(jobs.stdout).toMatch(new RegExp(`${id}\\s+completed\\s+19\\s+1\\s+20`));
    const retried = await finished(barnraise(['retry', id]));
    expect(retried.stderr).toContain('1 failed tasks queued again');
    const watched = await finished(barnraise(['status', id, '--watch']));
    expect(watched.code, 'the retried task fails again').toBe(1);
    const cancelled = await finished(barnraise(['cancel', id]));
    expect(cancelled.stdout, 'a completed job stays completed').toContain(`${id} "job.ts" completed`);
  });

  it('try runs the first inputs locally, with no master', async () => {
    const closedPort = await freePort();
    const { code, stdout, stderr } = await finished(
      barnraise(['try', 'job.ts', '--inputs', inputsFile('in-try.json', 10, 1, [1]), '-n', '3'], { env: { BARNRAISE_URL: `http://127.0.0.1:${closedPort}` } }),
    );
    expect(code, stderr).toBe(1);
    expect(resultLines(stdout)).toEqual([
      { index: 0, status: 'done', output: padded(0) },
      { index: 1, status: 'failed', error: 'asked to fail: 1' },
      { index: 2, status: 'done', output: padded(2) },
    ]);
    expect(stderr).toContain('3 tasks ran here: 2 done, 1 failed');
  });

  it('connects with the token saved in ./data/operator-token when no flag or variable gives one', async () => {
    const cwd = tempDir('barnraise-cli-cwd-');
    try {
      const without = await finished(barnraise(['jobs'], { cwd, env: { BARNRAISE_TOKEN: undefined } }));
      expect(without.code).toBe(2);
      expect(without.stderr).toContain('(UNAUTHORIZED)');
      fs.mkdirSync(path.join(cwd, 'data'));
      fs.writeFileSync(path.join(cwd, 'data/operator-token'), `${token}\n`);
      const withFile = await finished(barnraise(['jobs'], { cwd, env: { BARNRAISE_TOKEN: undefined } }));
      expect(withFile.code, withFile.stderr).toBe(0);
      expect(withFile.stdout).toContain('job.ts');
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('bad flags and job files are one clear line and exit 2', async () => {
    fs.writeFileSync(path.join(jobDir, 'no-default.js'), 'export const f = 1;\n');
    inputsFile('in-small.json', 2, 1);
    const noDefault = await finished(barnraise(['submit', 'no-default.js', '--inputs', 'in-small.json']));
    expect(noDefault).toMatchObject({ code: 2, stderr: expect.stringContaining('no-default.js has no default export') });
    const badAsset = await finished(barnraise(['submit', 'job.ts', '--inputs', 'in-small.json', '--asset', 'nope']));
    expect(badAsset).toMatchObject({ code: 2, stderr: expect.stringContaining('expected NAME=PATH') });
    const badValidation = await finished(barnraise(['submit', 'job.ts', '--inputs', 'in-small.json', '--validation', 'sometimes']));
    expect(badValidation).toMatchObject({ code: 2, stderr: expect.stringContaining('Allowed choices are none, adaptive, strict') });
    // [H2] A master's setting out of range: one line naming it, no stack trace, and no master.
    const badServe = await finished(barnraise(['serve', '--port', '1'], { env: { BARNRAISE_HEARTBEAT_TIMEOUT_MS: '100', BARNRAISE_DATA_DIR: path.join(jobDir, 'never') } }));
    expect(badServe).toMatchObject({ code: 2, stderr: 'barnraise: BARNRAISE_HEARTBEAT_TIMEOUT_MS must be at least twice the heartbeat (4000 ms), got 100\n' });
  });

  it('[Y1] a .py job file is a Python job: try runs it here in Pyodide, run sends it to the master, a syntax error is refused with its line', { timeout: 240_000 }, async () => {
    fs.writeFileSync(path.join(jobDir, 'roots.py'), `import math\n\ndef main(x, ctx):\n    if x == 3:\n        raise ValueError("three is right out")\n    return {"n": x, "root": math.isqrt(x * x)}\n`);
    fs.writeFileSync(path.join(jobDir, 'in-roots.json'), '[1, 2, 3, 4]');
    const expected = [
      { index: 0, status: 'done', output: { n: 1, root: 1 } },
      { index: 1, status: 'done', output: { n: 2, root: 2 } },
      { index: 2, status: 'failed', error: expect.stringContaining('ValueError: three is right out') },
      { index: 3, status: 'done', output: { n: 4, root: 4 } },
    ];
    const tried = await finished(barnraise(['try', 'roots.py', '--inputs', 'in-roots.json', '-n', '4', '--threads', '1']), 120_000);
    expect(tried.code, tried.stderr).toBe(1);
    expect(resultLines(tried.stdout)).toEqual(expected);
    const ran = await finished(barnraise(['run', 'roots.py', '--inputs', 'in-roots.json', '--attempts', '1', '--name', 'roots']), 180_000);
    expect(ran.code, ran.stderr).toBe(1);
    expect(resultLines(ran.stdout)).toEqual(expected);
    const listed = await finished(barnraise(['jobs', '--json']));
    const jobs = listed.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { name: string; language: string });
    expect(jobs.find((j) => j.name === 'roots')?.language).toBe('python');
    fs.writeFileSync(path.join(jobDir, 'broken.py'), 'def main(x, ctx):\n    return x +\n');
    const broken = await finished(barnraise(['submit', 'broken.py', '--inputs', 'in-roots.json']));
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/line 2/);
  });

  it('[A2] --asset uploads each file (stored once however often it is sent) and the job reads it through ctx.assets; try --asset runs it here alike', async () => {
    fs.writeFileSync(path.join(jobDir, 'words.txt'), 'alpha beta gamma delta\n');
    fs.writeFileSync(path.join(jobDir, 'asset-job.js'), `export default (i, ctx) => ctx.assets.text('words').trim().split(' ')[i].toUpperCase();\n`);
    fs.writeFileSync(path.join(jobDir, 'in-words.json'), '[0, 2, 3]');
    const expected = ['ALPHA', 'GAMMA', 'DELTA'].map((output, index) => ({ index, status: 'done', output }));
    const tried = await finished(barnraise(['try', 'asset-job.js', '--inputs', 'in-words.json', '--asset', 'words=words.txt']));
    expect(tried.code, tried.stderr).toBe(0);
    expect(resultLines(tried.stdout)).toEqual(expected);
    const sizeBefore = (await api(master.url, token).raw('/metrics', { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text())).match(/^barnraise_assets_stored_bytes (\d+)/m)?.[1];
    for (const round of [1, 2]) {
      const run = await finished(barnraise(['run', 'asset-job.js', '--inputs', 'in-words.json', '--asset', 'words=words.txt']));
      expect(run.code, `round ${round}: ${run.stderr}`).toBe(0);
      expect(resultLines(run.stdout)).toEqual(expected);
    }
    const sizeAfter = (await api(master.url, token).raw('/metrics', { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text())).match(/^barnraise_assets_stored_bytes (\d+)/m)?.[1];
    expect(Number(sizeAfter) - Number(sizeBefore)).toBe('alpha beta gamma delta\n'.length);
    const missing = await finished(barnraise(['submit', 'asset-job.js', '--inputs', 'in-words.json', '--asset', 'words=nowhere.txt']));
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('asset "words": no file at nowhere.txt') });
  });
});
