/**
 * Python jobs (SPEC.md section Y) on a real master and a real headless worker: the submit-time check, Pyodide
 * added to the job's assets and sent once, exact results from Python's main(input, ctx), Python errors and
 * a Python loop stopped by its time limit.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';
import { PYODIDE_ASSET_NAMES, PYODIDE_SNAPSHOT_NAME } from '@barnraise/shared';

const token = 'python-token';
const dataDir = tempDir();
const cacheDir = tempDir('barnraise-python-cache-');
let master: MasterProc;
const procs: Proc[] = [];

const SQUARES = `
import math

def main(n, ctx):
    ctx.progress(0.5)
    return {"n": n, "square": n * n, "index": ctx.index, "root": math.isqrt(n)}
`;

beforeAll(async () => {
  master = await startMaster({ dataDir, token, env: { BARNRAISE_HEARTBEAT_MS: '500' } });
});
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function post(body: unknown): Promise<{ status: number; json: { message?: string; code?: string } }> {
  const client = api(master.url, token);
  const res = await client.raw('/api/jobs', { method: 'POST', headers: client.headers, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as { message?: string; code?: string } };
}

async function bytesSent(): Promise<number> {
  const text = await (await fetch(`${master.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^barnraise_asset_bytes_sent_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe('[Y2] the check at submit', () => {
  it('[Y2] a Python syntax error is refused with its line, before anything is stored', async () => {
    const { status, json } = await post({ language: 'python', code: 'def main(x, ctx):\n    return x +\n', inputs: [1] });
    expect(status).toBe(400);
    expect(json.code).toBe('BAD_CODE');
    expect(json.message).toMatch(/syntax error: .*\(line 2, column \d+\)/);
    const { jobs } = (await (await api(master.url, token).raw('/api/jobs', { headers: api(master.url, token).headers })).json()) as { jobs: unknown[] };
    expect(jobs).toEqual([]);
  }, 90_000);

  it('[Y2] a module without main is refused; JavaScript is still the default language', async () => {
    const noMain = await post({ language: 'python', code: 'def run(x, ctx):\n    return x\n', inputs: [1] });
    expect(noMain.status).toBe(400);
    expect(noMain.json.message).toMatch(/must define main\(input, ctx\)/);
    // Python source sent as JavaScript is checked as JavaScript.
    const asJs = await post({ code: 'def main(x, ctx):\n    return x\n', inputs: [1] });
    expect(asJs.status).toBe(400);
    const js = await api(master.url, token).createJob({ code: 'export default (n) => n', inputs: [1] });
    expect(js.language).toBe('javascript');
    expect(js.assets).toBeUndefined();
    await api(master.url, token).cancel(js.id);
  }, 60_000);

  it('[Y3] a Python job may not give its own assets the names of Pyodide\'s files', async () => {
    const res = await post({ language: 'python', code: 'def main(x, ctx):\n    return x\n', inputs: [1], assets: { 'pyodide.asm.wasm': '0'.repeat(64) } });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/pyodide\.asm\.wasm/);
  });
});

describe('[Y1][Y4] Python jobs on a headless worker', () => {
  it('[Y1][Y3] main(input, ctx) runs for each input, with exact results; Pyodide travels as assets, once', async () => {
    const client = api(master.url, token);
    procs.push(startWorker(master.url, 2, ['--cache', cacheDir]));
    const inputs = Array.from({ length: 30 }, (_, i) => i * 7);
    const job = await client.createJob({ name: 'py squares', language: 'python', code: SQUARES, inputs });
    expect(job.language).toBe('python');
    expect(job.assets?.map((a) => a.name).sort()).toEqual([...PYODIDE_ASSET_NAMES].sort());
    const pyodideBytes = job.assets!.reduce((n, a) => n + a.size, 0);
    await waitFor('python job completed', async () => (await client.job(job.id)).status === 'completed', 120_000, 200);
    const lines = await client.results(job.id);
    expect(lines).toEqual(inputs.map((n, i) => ({ index: i, status: 'done', output: { n, square: n * n, index: i, root: Math.floor(Math.sqrt(n)) } })));
    expect(await bytesSent()).toBe(pyodideBytes);

    // A second Python job on the same worker: Pyodide is not sent again (A4).
    const again = await client.createJob({ name: 'py again', language: 'python', code: 'def main(s, ctx):\n    return s[::-1]\n', inputs: ['abc', 'xyz'] });
    await waitFor('second python job completed', async () => (await client.job(again.id)).status === 'completed', 120_000, 200);
    expect(await client.results(again.id)).toEqual([
      { index: 0, status: 'done', output: 'cba' },
      { index: 1, status: 'done', output: 'zyx' },
    ]);
    expect(await bytesSent()).toBe(pyodideBytes);
  }, 240_000);

  it('[Y1] a Python exception fails the attempt with its type, message and line', async () => {
    const client = api(master.url, token);
    const code = 'def main(n, ctx):\n    if n == 2:\n        return 1 / 0\n    return float("nan") if n == 3 else n\n';
    const job = await client.createJob({ language: 'python', code, inputs: [1, 2, 3], maxAttempts: 1 });
    await waitFor('failing job completed', async () => (await client.job(job.id)).status === 'completed', 120_000, 200);
    const [one, two, three] = await client.results(job.id);
    expect(one).toEqual({ index: 0, status: 'done', output: 1 });
    expect(two).toMatchObject({ index: 1, status: 'failed' });
    expect(two?.status === 'failed' && two.error).toMatch(/^PythonError: ZeroDivisionError: division by zero\n.*job\.py", line 3, in main/s);
    expect(three?.status === 'failed' && three.error).toMatch(/ValueError: Out of range float values are not JSON compliant/);
  }, 120_000);

  it('[Y4] a Python loop that never ends is stopped by its time limit', async () => {
    const client = api(master.url, token);
    const job = await client.createJob({ language: 'python', code: 'def main(n, ctx):\n    while True:\n        n += 1\n', inputs: [1], maxAttempts: 1, timeoutMs: 15_000 });
    await waitFor('looping job completed', async () => (await client.job(job.id)).status === 'completed', 90_000, 200);
    const [line] = await client.results(job.id);
    expect(line).toMatchObject({ index: 0, status: 'failed' });
    expect(line?.status === 'failed' && line.error).toMatch(/timed out after 15000 ms/);
  }, 120_000);

  it('[Y5] a pure-Python wheel among the job\'s assets is installed before its module is imported', async () => {
    const wheel = path.join(dataDir, 'greet-1.0-py3-none-any.whl');
    // A wheel is a zip: the package and its dist-info, built here with Python's zipfile.
    execFileSync('python3', ['-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("greet/__init__.py", "def hello(name):\\n    return 'hello ' + name\\n")
    z.writestr("greet-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: greet\\nVersion: 1.0\\n")
    z.writestr("greet-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("greet-1.0.dist-info/RECORD", "")
`, wheel]);
    const bytes = fs.readFileSync(wheel);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const put = await fetch(`${master.url}/api/assets/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
    expect(put.status).toBe(201);
    const client = api(master.url, token);
    const code = 'import greet\nfrom importlib.metadata import version\n\ndef main(name, ctx):\n    return [greet.hello(name), version("greet")]\n';
    const job = await client.createJob({ language: 'python', code, inputs: ['ada', 'bob'], assets: { 'greet-1.0-py3-none-any.whl': sha } });
    await waitFor('wheel job completed', async () => (await client.job(job.id)).status === 'completed', 120_000, 200);
    expect(await client.results(job.id)).toEqual([
      { index: 0, status: 'done', output: ['hello ada', '1.0'] },
      { index: 1, status: 'done', output: ['hello bob', '1.0'] },
    ]);
  }, 150_000);
});

describe('[Y3] the snapshot', () => {
  it('[Y3] a restarted master sends the same snapshot it made once, so a returning volunteer\'s cache still holds it', async () => {
    const client = api(master.url, token);
    const first = await client.createJob({ name: 'py snap 1', language: 'python', code: 'def main(x, ctx):\n    return x\n', inputs: [1] });
    const snapshot = first.assets!.find((a) => a.name === PYODIDE_SNAPSHOT_NAME);
    expect(snapshot, 'the job carries a snapshot').toBeDefined();
    await client.cancel(first.id);
    const pointers = () => fs.readdirSync(path.join(dataDir, 'assets')).filter((n) => n.startsWith('pyodide-snapshot.'));
    expect(pointers()).toHaveLength(1);
    expect(fs.readFileSync(path.join(dataDir, 'assets', pointers()[0]!), 'utf8')).toBe(snapshot!.sha256);
    await master.kill('SIGTERM');
    master = await startMaster({ dataDir, token, env: { BARNRAISE_HEARTBEAT_MS: '500' } });
    const again = await api(master.url, token).createJob({ name: 'py snap 2', language: 'python', code: 'def main(x, ctx):\n    return x\n', inputs: [1] });
    expect(again.assets!.find((a) => a.name === PYODIDE_SNAPSHOT_NAME)).toEqual(snapshot);
    expect(pointers()).toHaveLength(1);
  }, 120_000);
});
