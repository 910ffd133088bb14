/**
 * Assets on headless workers (SPEC.md A4-A6): a WebAssembly module and a data file used by jobs on a real
 * `barnraise worker`; each asset's bytes leave the master once per worker, are kept in its cache directory
 * across restarts, checked by hash, and the module is compiled once per thread.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '@barnraise/shared';
import { ADD_WASM } from '../../shared/src/testing/add-wasm.ts';
import { api, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'assets-worker-token';
const dataDir = tempDir();
const cacheDir = tempDir('barnraise-asset-cache-');
let master: MasterProc;
const procs: Proc[] = [];
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const table = Buffer.from(JSON.stringify(Array.from({ length: 1000 }, (_, i) => i * 7)));

// Each thread remembers the modules it was handed: a module compiled again would be a new object.
const code = `export default async (n, ctx) => {
  const mod = await ctx.assets.wasm('add.wasm');
  const seen = (globalThis.__modules ??= new WeakSet());
  const reused = seen.has(mod);
  seen.add(mod);
  const { exports } = await WebAssembly.instantiate(mod);
  const t = ctx.assets.json('table.json');
  const thread = (globalThis.__thread ??= Math.random().toString(36).slice(2));
  return { sum: exports.add(n, t[n]), reused, thread, bytes: ctx.assets.bytes('table.json').length };
}`;

interface Output {
  sum: number;
  reused: boolean;
  thread: string;
  bytes: number;
}

beforeAll(async () => {
  master = await startMaster({ dataDir, token, env: { BARNRAISE_HEARTBEAT_MS: '500' } });
  for (const bytes of [ADD_WASM, table]) {
    const res = await fetch(`${master.url}/api/assets/${sha(bytes)}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: bytes });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

async function bytesSent(): Promise<number> {
  const text = await (await fetch(`${master.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^barnraise_asset_bytes_sent_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function runJob(name: string, inputs: number[]): Promise<{ job: JobSummary; outputs: Output[] }> {
  const client = api(master.url, token);
  const job = await client.createJob({ name, code, inputs, assets: { 'add.wasm': sha(ADD_WASM), 'table.json': sha(table) } });
  await waitFor(`${name} completed`, async () => (await client.job(job.id)).status === 'completed', 60_000, 100);
  const lines = await client.results(job.id);
  const failed = lines.filter((l) => l.status === 'failed');
  expect(failed, 'no task failed').toEqual([]);
  return { job, outputs: lines.map((l) => (l.status === 'done' ? (l.output as Output) : { sum: NaN, reused: false, thread: '', bytes: 0 })) };
}

const inputs = Array.from({ length: 40 }, (_, i) => i * 3);
/** Outputs of the first worker's jobs. */
const firstWorker: Output[] = [];

describe('[A4][A6] assets on a headless worker', () => {
  it('[A6] a job calls a WebAssembly export and reads a data file; each thread compiles the module once', async () => {
    procs.push(startWorker(master.url, 2, ['--cache', cacheDir]));
    const { outputs } = await runJob('wasm add', inputs);
    firstWorker.push(...outputs);
    expect(outputs.map((o) => o.sum)).toEqual(inputs.map((n) => n + n * 7));
    expect(new Set(outputs.map((o) => o.bytes))).toEqual(new Set([table.length]));
    // One first sight per thread: every other task got the module that thread had compiled.
    const threads = new Set(outputs.map((o) => o.thread));
    expect(outputs.filter((o) => !o.reused).length).toBe(threads.size);
  }, 90_000);

  it('[A4] each asset left the master once for that worker; a second job with the same assets fetches nothing, and reuses the compiled module', async () => {
    expect(await bytesSent()).toBe(ADD_WASM.length + table.length);
    expect(fs.readdirSync(cacheDir).sort()).toEqual([sha(ADD_WASM), sha(table)].sort());
    const { outputs } = await runJob('wasm add again', inputs.slice(0, 20));
    firstWorker.push(...outputs);
    expect(outputs.map((o) => o.sum)).toEqual(inputs.slice(0, 20).map((n) => n + n * 7));
    // Over both jobs, each thread compiled the module once (a thread the first job never reached, in the second).
    const threads = new Set(firstWorker.map((o) => o.thread));
    expect(threads.size).toBeLessThanOrEqual(2);
    for (const t of threads) expect(firstWorker.filter((o) => o.thread === t && !o.reused), `thread ${t}`).toHaveLength(1);
    expect(await bytesSent()).toBe(ADD_WASM.length + table.length);
  }, 90_000);

  it('[A4] a restarted worker reads its cache directory and downloads nothing; a damaged file there is fetched again', async () => {
    await procs.pop()!.kill('SIGTERM');
    procs.push(startWorker(master.url, 1, ['--cache', cacheDir]));
    await runJob('after a restart', [1, 2, 3]);
    expect(await bytesSent(), 'nothing downloaded after the restart').toBe(ADD_WASM.length + table.length);

    await procs.pop()!.kill('SIGTERM');
    const damaged = path.join(cacheDir, sha(table));
    const bytes = fs.readFileSync(damaged);
    bytes[10] = bytes[10]! ^ 0xff;
    fs.writeFileSync(damaged, bytes);
    procs.push(startWorker(master.url, 1, ['--cache', cacheDir]));
    const { outputs } = await runJob('after damage', [4, 5]);
    expect(outputs.map((o) => o.sum)).toEqual([4 + 28, 5 + 35]);
    expect(await bytesSent(), 'only the damaged asset again').toBe(ADD_WASM.length + 2 * table.length);
    expect(fs.readFileSync(damaged).equals(table)).toBe(true);
  }, 120_000);

  it('[A5] an asset the master no longer has fails the attempts with an error naming it', async () => {
    const gone = Buffer.from('soon gone');
    expect((await fetch(`${master.url}/api/assets/${sha(gone)}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: gone })).status).toBe(201);
    const client = api(master.url, token);
    // No worker connected until the file is gone: one already there could lease the task and fetch the asset
    // between the submit and the removal (it did, once workers started from the build and came sooner).
    await procs.pop()!.kill('SIGTERM');
    await waitFor('no volunteer connected', async () => ((await (await client.raw('/api/stats')).json()) as { volunteers: number }).volunteers === 0, 30_000, 50);
    const job = await client.createJob({ code: 'export default (n, ctx) => ctx.assets.text("note")', inputs: [1], maxAttempts: 1, assets: { note: sha(gone) } });
    // The operator removed the file after the job was accepted (assets are the operator's files, rule A2).
    fs.rmSync(path.join(dataDir, 'assets', sha(gone)));
    procs.push(startWorker(master.url, 1, ['--cache', cacheDir]));
    await waitFor('job completed', async () => (await client.job(job.id)).status === 'completed', 30_000, 100);
    const [line] = await client.results(job.id);
    expect(line).toMatchObject({ status: 'failed', error: expect.stringMatching(/^asset "note" \([0-9a-f]{12}…\) could not be loaded: .*answered 404/) as string });
  }, 60_000);
});
