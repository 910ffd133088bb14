/**
 * Python jobs in browser tabs (SPEC.md section Y): Pyodide, served by the master as assets, runs job code
 * written in Python inside the sandbox. One test, its steps sharing two tabs, because each tab's first
 * Python job costs it a Pyodide download and start (a few seconds here): a job across two tabs and a headless worker with
 * exact results; a second job that downloads nothing; Python job code that cannot reach the network; a
 * Python loop stopped by its time limit; a reloaded tab that takes Pyodide from Cache Storage and runs
 * HighFive's example with its task in Python (examples/highfive/add_master.py --python).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYODIDE_ASSET_NAMES } from '@barnraise/shared';
import { HeadlessWorker } from './dashboard-page.ts';
import { expect, test, type VolunteerPage } from './fixtures.ts';

/**
 * Busy for about half a second of Python, 60 of them: interpreters start in about a second now, so a job much
 * shorter is done by the first volunteers ready before the others have downloaded Pyodide.
 */
const KERNEL = `
def main(n, ctx):
    total = 0
    for k in range(200_000):
        total = (total + k * n) % 1_000_003
    ctx.progress(1.0)
    return {"n": n, "total": total, "index": ctx.index}
`;
const kernel = (n: number, index: number) => {
  let total = 0;
  for (let k = 0; k < 200_000; k++) total = (total + k * n) % 1_000_003;
  return { n, total, index };
};

/** Each input is a way out of the sandbox; main returns 'reached' if it got through. */
const ESCAPES = (target: string) => `
import js
T = ${JSON.stringify(target)}

async def main(how, ctx):
    if how == "js.fetch":
        await js.fetch(T + "/fetch")
    elif how == "pyfetch":
        from pyodide.http import pyfetch
        await pyfetch(T + "/pyfetch")
    elif how == "open_url":
        from pyodide.http import open_url
        open_url(T + "/open_url")
    elif how == "xhr":
        r = js.XMLHttpRequest.new()
        r.open("GET", T + "/xhr", False)
        r.send()
    elif how == "urllib":
        import urllib.request
        urllib.request.urlopen(T + "/urllib", timeout=3)
    elif how == "loadPackage":
        import pyodide_js
        await pyodide_js.loadPackage("six")
        import six
    elif how == "compute":
        return sum(range(10))
    elif how == "loop":
        while True:
            pass
    return "reached"
`;

async function countingServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'access-control-allow-origin': '*' });
    res.end('reached');
  });
  server.on('connection', () => hits++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** `python3 examples/highfive/add_master.py --python` against `url`, killed by its PID if it takes over 2 minutes. */
async function runExample(url: string, token: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('python3', ['examples/highfive/add_master.py', '--python'], {
    cwd: REPO_ROOT,
    env: { ...process.env, BARNRAISE_URL: url, BARNRAISE_TOKEN: token, PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  return { status, stdout, stderr };
}

const pyodideRequests = (tab: VolunteerPage) => tab.assetRequests.length;

// A trace with DOM snapshots records every response body, and Chromium hands them over on the page's own
// thread: Pyodide's 20 MB froze each tab for 3–6 s here, past the 2 s after which the test master (a beat of
// 500 ms) drops a silent volunteer. The trace keeps its screenshots and actions.
test.use({ trace: { mode: 'retain-on-failure', snapshots: false, screenshots: true } });

test('[Y1][Y3][Y4][Y6] Python jobs in two tabs and a headless worker: exact results, Pyodide downloaded once, no network, loops stopped', async ({ openVolunteer, api, master }) => {
  test.setTimeout(240_000);
  const tabs = [await openVolunteer(), await openVolunteer()];
  for (const tab of tabs) {
    await tab.setThreads(1);
    await tab.start();
  }
  const worker = HeadlessWorker.start(master, 1);
  let pyodideBytes = 0;

  try {
    await test.step('[Y1] a Python job runs across both tabs and the headless worker, with exact results', async () => {
      await expect.poll(async () => (await api.stats()).volunteers, { timeout: 30_000 }).toBe(3);
      const inputs = Array.from({ length: 60 }, (_, i) => i + 1);
      const job = await api.createJob({ name: 'python kernel', language: 'python', code: KERNEL, inputs });
      expect(job.language).toBe('python');
      expect(job.assets?.map((a) => a.name).sort()).toEqual([...PYODIDE_ASSET_NAMES].sort());
      pyodideBytes = job.assets!.reduce((n, a) => n + a.size, 0);
      await api.waitForCompletion(job.id, 120_000);
      expect(await api.results(job.id)).toEqual(inputs.map((n, i) => ({ index: i, status: 'done', output: kernel(n, i) })));
      // Polled: with interpreters started from the snapshot the job can end before a tab's counter is redrawn.
      for (const [k, tab] of tabs.entries()) await expect.poll(() => tab.tasksDoneCount(), { message: `tab ${k + 1} ran some of it`, timeout: 10_000 }).toBeGreaterThan(0);
    });

    await test.step('[Y6] each tab said it was loading Python and how much it downloaded: all of Pyodide, once', async () => {
      for (const tab of tabs) {
        const status = tab.page.getByTestId('volunteer.python');
        await expect(status).toHaveAttribute('data-downloaded', String(pyodideBytes));
        await expect(status).toContainText(`Python ready: ${(pyodideBytes / 1e6).toFixed(1)} MB downloaded`);
        expect(pyodideRequests(tab)).toBe(PYODIDE_ASSET_NAMES.length);
      }
      // Two tabs and one headless worker, each sent Pyodide once.
      expect(await api.assetBytesSent()).toBe(3 * pyodideBytes);
    });
    await worker.kill('SIGKILL');

    await test.step('[Y3][Y4][S4] a second Python job in the same tabs downloads no interpreter bytes; its code reaches no network; its endless loop is stopped by the time limit', async () => {
      const target = await countingServer();
      try {
        // The loop comes last, so the other tasks are through before it holds a thread for its 20 s.
        const ways = ['compute', 'js.fetch', 'pyfetch', 'open_url', 'xhr', 'urllib', 'loadPackage', 'loop'];
        const job = await api.createJob({ name: 'escapes', language: 'python', code: ESCAPES(target.url), inputs: ways, maxAttempts: 1, timeoutMs: 20_000 });
        await api.waitForCompletion(job.id, 150_000);
        const lines = await api.results(job.id);
        const byWay = Object.fromEntries(lines.map((l) => [ways[l.index]!, l.status === 'done' ? `done: ${JSON.stringify(l.output)}` : `failed: ${l.error}`]));
        expect(byWay.compute).toBe('done: 45');
        for (const way of ways.filter((w) => w !== 'compute')) expect(byWay[way], way).toMatch(/^failed: /);
        expect(byWay['js.fetch']).toContain('sandbox: network access is not allowed (fetch');
        expect(byWay.xhr).toContain('sandbox: network access is not allowed (XMLHttpRequest');
        expect(byWay.loop).toBe('failed: timed out after 20000 ms');
        expect(target.hits(), 'requests and connections the loopback server received').toBe(0);
      } finally {
        await target.close();
      }
      // Nothing more fetched, Pyodide's own package loader included.
      for (const tab of tabs) expect(pyodideRequests(tab)).toBe(PYODIDE_ASSET_NAMES.length);
      expect(await api.assetBytesSent()).toBe(3 * pyodideBytes);
    });

    await test.step('[Y3][Y6] a returning volunteer (a reloaded tab) takes Pyodide from Cache Storage, nothing downloaded, and runs HighFive\'s add_master.py --python', async () => {
      const [tab, other] = tabs as [VolunteerPage, VolunteerPage];
      await other.stop();
      await tab.reloadAndResume();
      const before = tab.assetRequests.length;
      // HighFive's example with its task in Python, as its README runs it, against this master: its 100 sums come from this tab.
      const example = await runExample(master.url, master.token);
      expect(example.status, example.stderr).toBe(0);
      expect(example.stdout.trim().split('\n')).toEqual(Array.from({ length: 100 }, (_, i) => `${i} + ${i + 1} = ${2 * i + 1}`));
      expect(tab.assetRequests.length - before, 'asset requests after the reload').toBe(0);
      await expect(tab.page.getByTestId('volunteer.python')).toContainText("Python ready from this browser's cache: nothing downloaded");
      expect(await api.assetBytesSent()).toBe(3 * pyodideBytes);
    });
  } finally {
    await worker.kill('SIGKILL');
  }
});
