/**
 * Python tasks (SPEC.md section Y): how long a volunteer's thread takes to start Python in Chromium, cold
 * (nothing cached) and warm (a returning volunteer, Pyodide in Cache Storage), what a returning volunteer
 * downloads, a CPU-bound pure-Python kernel in a tab against CPython on this machine, and the memory a
 * Python thread costs (a tab's Chromium processes, and a headless worker's process).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { Api } from './lib/api.ts';
import type { Bench, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { BARNRAISE_BIN, readMemory, REPO_ROOT, sleep, spawnNode, stopProcess, waitUntil } from './lib/proc.ts';
import { median } from './lib/stats.ts';
import { fmt, mb, verdict, Verdict, type Row } from './lib/table.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.ts';

/** An FNV-style integer hash in pure Python: no C extension does the work, so it measures the interpreter. */
const KERNEL = (iters: number) => `
import time

def kernel(n):
    h = 2166136261 ^ n
    for k in range(${iters}):
        h = ((h ^ k) * 16777619) & 0xFFFFFFFF
    return h

def timed(n):
    t = time.perf_counter()
    h = kernel(n)
    return (time.perf_counter() - t) * 1000, h
`;
const KERNEL_JOB = (iters: number, runs: number) => `${KERNEL(iters)}
def main(n, ctx):
    kernel(n)  # one warm-up run
    out = [timed(n + k) for k in range(${runs})]
    return {"ms": [o[0] for o in out], "h": [o[1] for o in out]}
`;
const TRIVIAL = 'def main(n, ctx):\n    return n + 1\n';
/** A trivial job that returns how its thread's interpreter start went, step by step (runtime.js keeps it). */
const STARTS = (tag: string) => `# ${tag}\nimport js\n\ndef main(n, ctx):\n    return js.__barnraisePythonStart.to_py()\n`;
/** The steps of an interpreter's start, as ms since it began: "compiled 120, imported 300, interpreter 900, module 950". */
const steps = (out: unknown) => Object.entries(out as Record<string, unknown>).map(([k, v]) => `${k} ${String(v)}`).join(', ');

const load = () => os.loadavg()[0]!.toFixed(1);

/** Resident bytes of a process and all its descendants (Chromium's browser, renderers, GPU and utility processes). */
function treeRss(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const stack = [root];
  for (let guard = 0; stack.length > 0 && guard < 10_000; guard++) {
    const pid = stack.pop()!;
    try {
      total += readMemory(pid).rss;
    } catch {
      continue;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** The pid of the Chromium browser process started with `userDataDir`. */
function chromiumPid(userDataDir: string): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(`--user-data-dir=${userDataDir}`) && !cmd.includes('--type=')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('the Chromium browser process was not found');
}

async function runJob(api: Api, body: Parameters<Api['createJob']>[0]): Promise<{ ms: number; outputs: unknown[] }> {
  const t0 = performance.now();
  const job = await api.createJob(body);
  await waitUntil(`job ${job.name} completed`, async () => (await api.job(job.id)).status === 'completed', 300_000, 50);
  const ms = performance.now() - t0;
  const lines = await api.results(job.id);
  const failed = lines.find((l) => l.status === 'failed');
  if (failed) throw new Error(`a task failed: ${failed.status === 'failed' ? failed.error : ''}`);
  return { ms, outputs: lines.map((l) => (l.status === 'done' ? l.output : null)) };
}

async function bytesSent(master: Master): Promise<number> {
  const text = await (await fetch(`${master.url}/metrics`, { headers: { authorization: `Bearer ${master.token}` } })).text();
  return Number(/^barnraise_asset_bytes_sent_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function openTab(context: BrowserContext, url: string, api: Api): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole('slider', { name: 'Threads' }).fill('1');
  await page.getByRole('button', { name: /^(Start|Resume)$/ }).first().click();
  await page.getByTestId('volunteer.connection').filter({ hasText: 'connected' }).waitFor({ timeout: 30_000 });
  await waitUntil('the tab joined', async () => (await api.stats()).threads >= 1, 30_000, 50);
  return page;
}

export const pythonBench: Bench = async (ctx): Promise<BenchResult> => {
  const iters = ctx.quick ? 300_000 : 1_000_000;
  const runs = ctx.quick ? 3 : 7;
  const master = await Master.start();
  const api = new Api(master.url, master.token);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-bench-python-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  let worker: ReturnType<typeof spawnNode> | null = null;
  const loads: Record<string, string> = {};
  try {
    // The master's syntax checker starts with its first Python job: started here, so no figure includes it.
    const warmup = await api.createJob({ language: 'python', code: TRIVIAL, inputs: [0] });
    await api.cancel(warmup.id);

    let page = await openTab(context, master.url, api);
    const browserPid = chromiumPid(profile);
    await sleep(2000);
    const rssBefore = treeRss(browserPid);

    loads.cold = load();
    const cold = await runJob(api, { name: 'cold', language: 'python', code: STARTS('cold'), inputs: [1] });
    const pyodideBytes = await bytesSent(master);
    ctx.log(`cold start (download ${mb(pyodideBytes, 1)} + compile + start + one task): ${fmt(cold.ms)} ms, load ${loads.cold}; in the thread: ${steps(cold.outputs[0])}`);
    const rssAfter = treeRss(browserPid);

    loads.sameTab = load();
    const sameTab = await runJob(api, { name: 'same tab', language: 'python', code: STARTS('same tab'), inputs: [1] });
    ctx.log(`a second Python job in the same tab: ${fmt(sameTab.ms)} ms, load ${loads.sameTab}; in the thread: ${steps(sameTab.outputs[0])}`);

    loads.kernel = load();
    const kernelRun = await runJob(api, { name: 'kernel', language: 'python', code: KERNEL_JOB(iters, runs), inputs: [7] });
    const tabMs = median((kernelRun.outputs[0] as { ms: number[] }).ms);
    const cpython = execFileSync('python3', ['-c', `${KERNEL(iters)}\nimport json, sys\nkernel(7)\nprint(json.dumps({"ms": [timed(7 + k)[0] for k in range(${runs})], "v": sys.version.split()[0]}))`], { encoding: 'utf8' });
    const cp = JSON.parse(cpython) as { ms: number[]; v: string };
    const cpythonMs = median(cp.ms);
    ctx.log(`kernel, ${fmt(iters)} iterations: Pyodide in a tab ${fmt(tabMs, 1)} ms, CPython ${cp.v} ${fmt(cpythonMs, 1)} ms, load ${loads.kernel}`);

    // A returning volunteer: the tab reloaded, Pyodide in Cache Storage.
    await page.close();
    await waitUntil('the tab left', async () => (await api.stats()).volunteers === 0, 30_000, 50);
    page = await openTab(context, master.url, api);
    const sentBefore = await bytesSent(master);
    loads.warm = load();
    const warm = await runJob(api, { name: 'warm', language: 'python', code: STARTS('warm'), inputs: [1] });
    const returningBytes = (await bytesSent(master)) - sentBefore;
    ctx.log(`warm start (a reloaded tab, Cache Storage): ${fmt(warm.ms)} ms, ${returningBytes} bytes sent, load ${loads.warm}; in the thread: ${steps(warm.outputs[0])}`);
    await page.close();
    await context.close();
    await waitUntil('the tab left', async () => (await api.stats()).volunteers === 0, 30_000, 50);

    // A headless worker with one thread: its process's memory before and after Python starts.
    worker = spawnNode(BARNRAISE_BIN, ['worker', '--url', master.url, '--threads', '1', '--quiet']);
    await waitUntil('the headless worker joined', async () => (await api.stats()).threads === 1, 30_000, 50);
    await runJob(api, { name: 'js warm-up', code: 'export default (n) => n', inputs: [1] });
    const nodeBefore = readMemory(worker.child.pid!).rss;
    loads.node = load();
    const nodeStart = await runJob(api, { name: 'node', language: 'python', code: TRIVIAL, inputs: [1] });
    const nodeAfter = readMemory(worker.child.pid!).rss;
    ctx.log(`headless worker: first Python job ${fmt(nodeStart.ms)} ms, RSS ${mb(nodeBefore)} -> ${mb(nodeAfter)}, load ${loads.node}`);

    const rows: Row[] = [
      { bench: 'python', figure: 'cold start of a Python thread in Chromium (job submitted → result; download, compile, start, 1 task)', value: `${fmt(cold.ms / 1000, 1)} s`, beside: `load ${loads.cold}; ${mb(pyodideBytes, 1)} downloaded`, target: '<= 12 s', verdict: verdict(cold.ms, { atMost: 12_000 }) },
      { bench: 'python', figure: 'warm start: a returning volunteer (reloaded tab, Pyodide in Cache Storage)', value: `${fmt(warm.ms / 1000, 1)} s`, beside: `load ${loads.warm}`, target: '<= 3 s', verdict: verdict(warm.ms, { atMost: 3_000 }) },
      { bench: 'python', figure: 'a second Python job in the same tab (wasm compiled already; the interpreter starts again)', value: `${fmt(sameTab.ms / 1000, 1)} s`, beside: `load ${loads.sameTab}`, target: '', verdict: Verdict.info },
      { bench: 'python', figure: 'bytes sent to a returning volunteer', value: `${fmt(returningBytes)} B`, beside: `${mb(pyodideBytes, 1)} the first time`, target: '0', verdict: verdict(-returningBytes, { atLeast: 0 }) },
      { bench: 'python', figure: `pure-Python kernel (${fmt(iters)} iterations), median of ${runs}`, value: `Pyodide in a tab ${fmt(tabMs, 1)} ms (CPython / Pyodide ${fmt(cpythonMs / tabMs, 2)})`, beside: `CPython ${cp.v} ${fmt(cpythonMs, 1)} ms; load ${loads.kernel}`, target: '', verdict: Verdict.info },
      { bench: 'python', figure: 'memory of one Python thread: a tab (all Chromium processes)', value: mb(rssAfter - rssBefore), beside: `${mb(rssBefore)} before Python; load ${loads.cold}`, target: '', verdict: Verdict.info },
      { bench: 'python', figure: 'memory of one Python thread: the headless worker process', value: mb(nodeAfter - nodeBefore), beside: `${mb(nodeBefore)} before; first job ${fmt(nodeStart.ms / 1000, 1)} s; load ${loads.node}`, target: '', verdict: Verdict.info },
    ];
    return {
      name: 'python',
      rows,
      data: { coldMs: cold.ms, warmMs: warm.ms, sameTabMs: sameTab.ms, threadSteps: { cold: cold.outputs[0], sameTab: sameTab.outputs[0], warm: warm.outputs[0] }, pyodideBytes, returningBytes, kernel: { iters, runs, pyodideMs: tabMs, cpythonMs, cpythonVersion: cp.v }, tabRss: { before: rssBefore, after: rssAfter }, nodeRss: { before: nodeBefore, after: nodeAfter }, nodeStartMs: nodeStart.ms, loads },
      notes: [
        'Starts are timed from POST /api/jobs (the master\'s syntax checker started beforehand) to the job completed, for a one-task Python job on a tab with Threads = 1: they include leasing, fetching Pyodide (cold: over loopback; warm: from Cache Storage, hashed), compiling its wasm, starting the interpreter and the task.',
        'The kernel is an FNV-style integer hash in a pure-Python loop; the tab times it with time.perf_counter inside Pyodide after one warm-up run, CPython the same code with python3 on this machine.',
        'Memory: resident bytes of every Chromium process of the profile before the first Python job and after it (the tab and its one worker stay up), and of the headless worker process with one thread.',
      ],
    };
  } finally {
    await context.close().catch(() => {});
    if (worker) await stopProcess(worker.child);
    await master.dispose();
    fs.rmSync(profile, { recursive: true, force: true });
  }
};
