/**
 * Every example of examples/ run with its one command from the README (`pnpm example:…`), as a user runs
 * it, against a real master with a real headless worker; the slow ones scaled down through their arguments.
 */
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, SERVER_DIR, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from '../server/test/helpers.ts';
import { paint, tilesOf, type View } from './mandelbrot/picture.ts';
import renderTile from './mandelbrot/tile.js';
import { SCRYPT, type Credential } from './wasm/params.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PTY_RUN = path.join(SERVER_DIR, 'test/pty-run.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const token = 'examples-test-token';
const dataDir = tempDir();
const outDir = tempDir('barnraise-examples-');
let master: MasterProc;
let worker: Proc;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command from the repository's root with the master in the environment, as the READMEs say. */
async function run(command: string[], timeoutMs = 40_000): Promise<Ran> {
  // Its own process group, so that a command that hangs is ended with everything it started (and nothing else).
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, BARNRAISE_URL: master.url, BARNRAISE_TOKEN: token, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Per example: its command is ended at 40 s (run), well before this. */
const TIMEOUT_MS = 60_000;

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

beforeAll(async () => {
  master = await startMaster({ dataDir, token });
  worker = startWorker(master.url, 2);
  await waitFor('the worker online', async () => ((await (await fetch(`${master.url}/api/stats`)).json()) as { volunteers: number }).volunteers === 1);
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

// python3 runs two of them (add_master.py, and the pseudo-terminal); CI has it, so there a missing one fails.
describe.skipIf(!hasPython && !process.env.CI)(`examples that need python3${hasPython ? '' : ' (SKIPPED: no python3 on this machine)'}`, () => {
  it("HighFive's add_master.py through the Python client: the 100 sums, in order", async () => {
    const { code, stdout, stderr } = await run(['pnpm', '--silent', 'example:highfive']);
    expect(code, stderr).toBe(0);
    expect(lines(stdout)).toEqual(Array.from({ length: 100 }, (_, i) => `${i} + ${i + 1} = ${2 * i + 1}`));
  }, TIMEOUT_MS);

  it("[Y1] HighFive's add_master.py --python: the task written in Python, run on Pyodide, the same 100 sums", async () => {
    const { code, stdout, stderr } = await run(['python3', 'examples/highfive/add_master.py', '--python'], 150_000);
    expect(code, stderr).toBe(0);
    expect(lines(stdout)).toEqual(Array.from({ length: 100 }, (_, i) => `${i} + ${i + 1} = ${2 * i + 1}`));
  }, 180_000);

  it("Parallel's jobs of half a second (here 40 of 50 ms) followed with the CLI's progress bar in a terminal", async () => {
    const { code, stdout } = await run(['python3', PTY_RUN, 'pnpm', '--silent', 'example:parallel', '40', '50']);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/[=-]{24} \d+% \| \d+\/40 ended, 0 failed \| [\d.]+ tasks\/s \| [\dsm?]+ left \| 1 volunteers/);
    expect(stdout).toMatch(/={24} 100% \| 40\/40 ended, 0 failed/);
    const id = /(j_[\w-]+) "parallel" completed: 40 done, 0 failed of 40/.exec(stdout)?.[1];
    expect(id, stdout).toBeDefined();
    // Every job answered 1, as in Parallel's test.
    const results = await api(master.url, token).results(id!);
    expect(results.sort((a, b) => a.index - b.index)).toEqual(Array.from({ length: 40 }, (_, index) => ({ index, status: 'done', output: 1 })));
  }, TIMEOUT_MS);
});

it("distributed-worker's prime checker, a TypeScript job through the CLI: 9,592 primes below 100,000", async () => {
  const { code, stdout, stderr } = await run(['pnpm', '--silent', 'example:primes']);
  expect(code, stderr).toBe(0);
  // π(10⁵) = 9592, and 99991 is the largest prime below 10⁵.
  expect(stdout).toBe('9592 primes found by 1000 tasks; the largest: 99991\n');
  expect(stderr).toMatch(/"primes" completed: 1000 done, 0 failed of 1000/);
}, TIMEOUT_MS);

it("a WebAssembly library from npm (hash-wasm's scrypt) bundled into the job: every key equals Node's crypto.scrypt", async () => {
  const { code, stdout, stderr } = await run(['pnpm', '--silent', 'example:wasm', '12']);
  expect(code, stderr).toBe(0);
  const credentials = lines(spawnSync(process.execPath, [path.join(ROOT, 'examples/wasm/credentials.mjs'), '12'], { encoding: 'utf8' }).stdout).map((l) => JSON.parse(l) as Credential);
  const expected = credentials.map(({ password, salt }) => {
    const key = crypto.scryptSync(password, salt, SCRYPT.hashLength, { N: SCRYPT.costFactor, r: SCRYPT.blockSize, p: SCRYPT.parallelism, maxmem: 64 * 1024 * 1024 });
    return `${password.padEnd(28)} ${key.toString('hex')}`;
  });
  expect(lines(stdout)).toEqual([...expected, "12 keys derived with hash-wasm's scrypt (WebAssembly) by the swarm; 3 of 3 spot checks match Node's crypto.scrypt"]);
}, TIMEOUT_MS);

it('Mandelbrot tiles computed by the swarm and assembled into a PNG: the right size, every pixel as computed here', async () => {
  const out = path.join(outDir, 'mandelbrot.png');
  // 320 × 200 in 64-pixel tiles: the last column and row of tiles are narrower, to check their placement.
  const view: View = { width: 320, height: 200, tile: 64, re: -0.75, im: 0, span: 3.2, iterations: 500 };
  const flags = ['--out', out, '--width', '320', '--height', '200', '--tile', '64', '--iterations', '500'];
  const { code, stdout, stderr } = await run(['pnpm', '--silent', 'example:mandelbrot', ...flags]);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(new RegExp(`^20 of 20 tiles in [\\d.]+ s; wrote ${out.replace(/[.]/g, '\\.')}\\n$`));
  const png = decode(fs.readFileSync(out));
  expect({ width: png.width, height: png.height, channels: png.channels, depth: png.depth }).toEqual({ width: 320, height: 200, channels: 3, depth: 8 });
  const pixel = (x: number, y: number) => Array.from(png.data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3));
  // Pixel (x, y) looks at c = -0.75 + (x + 0.5 - 160)·0.01 + (100 - y - 0.5)·0.01 i.
  expect(pixel(235, 100), 'c = 0: inside the set, black').toEqual([0, 0, 0]);
  expect(pixel(135, 100), 'c = -1: inside the period-2 bulb, black').toEqual([0, 0, 0]);
  expect(pixel(0, 0), 'c = -2.345 + 0.995i escapes at once: the palette\'s blue').toEqual([37, 107, 218]);
  const local = new Uint8Array(320 * 200 * 3);
  for (const tile of tilesOf(view)) paint(local, 320, tile, renderTile(tile));
  expect(Buffer.compare(Buffer.from(png.data), Buffer.from(local)), 'the picture equals one computed here').toBe(0);
}, TIMEOUT_MS);
