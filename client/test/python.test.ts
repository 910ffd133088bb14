/** The Python client (clients/python/barnraise.py) against a real master and headless worker: its unittest suite, run with python3. */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from '../../server/test/helpers.ts';

const PYTHON_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../clients/python');
const python = spawnSync('python3', ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
const pythonVersion = python.status === 0 ? python.stdout.trim() : null;
const token = 'python-test-token';
const dataDir = tempDir();
let master: MasterProc | undefined;
let worker: Proc | undefined;

beforeAll(async () => {
  if (!pythonVersion) return;
  master = await startMaster({ dataDir, token });
  worker = startWorker(master.url, 2);
  await waitFor('the worker online', async () => ((await (await fetch(`${master!.url}/api/stats`)).json()) as { volunteers: number }).volunteers === 1);
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

it.skipIf(!pythonVersion)(`the Python client's unittest suite passes against a real master (${pythonVersion ? `python3 ${pythonVersion}` : 'SKIPPED: no python3 on this machine'})`, async () => {
  const child = spawn('python3', ['-m', 'unittest', '-v', 'test_barnraise'], {
    cwd: PYTHON_DIR,
    env: { ...process.env, BARNRAISE_URL: master!.url, BARNRAISE_TOKEN: token, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, output).toBe(0);
  expect(output, 'every test ran: none skipped').toMatch(/Ran (\d+) tests[\s\S]*\nOK\s*$/);
  expect(output).not.toContain('skipped');
}, 240_000);
