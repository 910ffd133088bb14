/** Job code runs sandboxed: no network (the master's origin included), no storage, bounded in time. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { attachScreenshot, expect, test, type Api, type VolunteerPage } from './fixtures.ts';

/** A loopback server that counts every TCP connection and request made to it. */
async function listeningServer(): Promise<{ url: string; connections: () => number; requests: string[]; close: () => Promise<void> }> {
  let connections = 0;
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' });
    res.end('export default 1;');
  });
  server.on('connection', () => connections++);
  server.on('upgrade', (req, socket) => {
    requests.push(`UPGRADE ${req.url}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** One task per way out; each returns 'reached' if it got through. */
const escapeAttempts = (target: string, master: string) => `
const T = ${JSON.stringify(target)};
const M = ${JSON.stringify(master)};
const open = (s) => new Promise((resolve, reject) => { s.onopen = () => resolve('reached'); s.onerror = () => reject(new Error('could not connect')); });
const attempts = {
  fetch: async () => { await fetch(T + '/fetch'); return 'reached'; },
  xhr: () => { const r = new XMLHttpRequest(); r.open('GET', T + '/xhr', false); r.send(); return 'reached'; },
  websocket: () => open(new WebSocket(T.replace('http', 'ws') + '/ws')),
  eventsource: () => open(new EventSource(T + '/sse')),
  importScripts: () => { importScripts(T + '/classic.js'); return 'reached'; },
  import: async () => { await import(T + '/module.js'); return 'reached'; },
  'fetch-master': async () => { await fetch(M + '/api/stats'); return 'reached'; },
  'import-master': async () => { await import(M + '/sandbox.html'); return 'reached'; },
  indexeddb: () => new Promise((resolve, reject) => { const r = indexedDB.open('escape'); r.onsuccess = () => resolve('reached'); r.onerror = () => reject(r.error); }),
  localstorage: () => { localStorage.setItem('k', 'v'); return 'reached'; },
  // The page posts on this channel in the master's origin; the job's opaque origin must not hear it.
  broadcast: () => new Promise((resolve) => { const c = new BroadcastChannel('barnraise-e2e'); c.onmessage = () => resolve('reached'); setTimeout(() => resolve('isolated'), 1500); }),
  // Past the stand-ins: a nested worker has the native fetch, so only the CSP it inherits stops it.
  'nested-worker': () => new Promise((resolve, reject) => {
    const src = 'fetch(' + JSON.stringify(T + '/nested') + ').then(() => postMessage("reached"), (e) => postMessage("refused: " + e.message))';
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
    w.onmessage = (e) => (e.data === 'reached' ? resolve('reached') : reject(new Error(e.data)));
    w.onerror = (e) => reject(new Error('nested worker failed: ' + e.message));
  }),
  dom: () => (typeof document === 'undefined' && typeof window === 'undefined' ? 'no dom' : 'reached'),
  compute: () => 6 * 7,
};
export default (name) => attempts[name]();
`;

test('job code cannot reach the network, the master or storage: each attempt fails with an error saying so, and the server receives nothing', async ({ openVolunteer, api, master }) => {
  const server = await listeningServer();
  try {
    await test.step('the test server counts what reaches it', async () => {
      await fetch(`${server.url}/probe`);
      expect(server.requests).toEqual(['GET /probe']);
      server.requests.length = 0;
    });
    const connectionsBefore = server.connections();
    const tab = await openVolunteer();
    await tab.start();
    // The page's own origin shouts on a BroadcastChannel the whole time.
    await tab.page.evaluate(() => {
      const c = new BroadcastChannel('barnraise-e2e');
      setInterval(() => c.postMessage('hello from the page'), 100);
    });
    const names = ['fetch', 'xhr', 'websocket', 'eventsource', 'importScripts', 'import', 'fetch-master', 'import-master', 'indexeddb', 'localstorage', 'nested-worker', 'broadcast', 'dom', 'compute'];
    const job = await api.createJob({ name: 'escape attempts', code: escapeAttempts(server.url, master.url), inputs: names, maxAttempts: 1, timeoutMs: 10_000 });
    await api.waitForCompletion(job.id);
    const byName = new Map((await api.results(job.id)).map((line) => [names[line.index], line]));

    await test.step('network and storage attempts failed with an error naming the sandbox', () => {
      const expected: Record<string, RegExp> = {
        fetch: /sandbox: network access is not allowed \(fetch http:\/\/127\.0\.0\.1:\d+\/fetch\)/,
        xhr: /sandbox: network access is not allowed \(XMLHttpRequest/,
        websocket: /sandbox: network access is not allowed \(WebSocket ws:\/\/127\.0\.0\.1:\d+\/ws\)/,
        eventsource: /sandbox: network access is not allowed \(EventSource/,
        importScripts: /sandbox: network access is not allowed \(importScripts/,
        import: /sandbox: blocked by the Content-Security-Policy \(script-src-elem http:\/\/127\.0\.0\.1:\d+\/module\.js\)/,
        'fetch-master': /sandbox: network access is not allowed \(fetch http:\/\/127\.0\.0\.1:\d+\/api\/stats\)/,
        'import-master': /sandbox: blocked by the Content-Security-Policy \(script-src-elem http:\/\/127\.0\.0\.1:\d+\/sandbox\.html\)/,
        indexeddb: /sandbox: storage access is not allowed \(indexedDB\)/,
        localstorage: /sandbox: storage access is not allowed \(localStorage\)/,
        // No stand-in there to name the sandbox: the bare refusal of the CSP.
        'nested-worker': /refused: Failed to fetch/,
      };
      for (const [name, pattern] of Object.entries(expected)) {
        const line = byName.get(name);
        expect(line?.status, `${name} must fail`).toBe('failed');
        expect(line && line.status === 'failed' ? line.error : '', name).toMatch(pattern);
      }
    });

    await test.step('the job itself ran: it computes, has no DOM and does not hear the page origin', () => {
      expect(byName.get('compute')).toMatchObject({ status: 'done', output: 42 });
      expect(byName.get('dom')).toMatchObject({ status: 'done', output: 'no dom' });
      expect(byName.get('broadcast')).toMatchObject({ status: 'done', output: 'isolated' });
    });

    await test.step('nothing reached the test server, not even a TCP connection', () => {
      expect(server.requests).toEqual([]);
      expect(server.connections()).toBe(connectionsBefore);
    });
    await expect(tab.tasksFailed).toHaveText('11');
    await attachScreenshot(tab.page, 'after the escape attempts');
  } finally {
    await server.close();
  }
});

test('a task that loops forever is stopped after timeoutMs by replacing its worker, and the tab goes on serving', async ({ openVolunteer, api }) => {
  const tab = await openVolunteer();
  await tab.setThreads(1);
  await tab.start();
  await expect.poll(() => tab.computeWorkers()).toBe(1);
  let spawned = 0;
  tab.page.on('worker', () => spawned++);

  const code = `export default (n) => { if (n === 2) { for (;;) {} } return n + 100; };`;
  const started = Date.now();
  const job = await api.createJob({ name: 'one loops forever', code, inputs: [0, 1, 2, 3, 4, 5], timeoutMs: 1_500, maxAttempts: 1 });
  await api.waitForCompletion(job.id, 30_000);
  const elapsed = Date.now() - started;

  await test.step('the looping task failed at its time limit; the others, queued behind it on the one thread, ran', async () => {
    const lines = await api.results(job.id);
    const looping = lines.find((l) => l.index === 2);
    expect(looping).toMatchObject({ status: 'failed', error: 'timed out after 1500 ms' });
    expect(lines.filter((l) => l.status === 'done').map((l) => l.index).sort()).toEqual([0, 1, 3, 4, 5]);
    expect(elapsed, 'the job waited for the time limit').toBeGreaterThanOrEqual(1_500);
    expect(elapsed, 'not for the master deadline (timeout + 5 s grace)').toBeLessThan(6_500);
  });

  await test.step('its worker was terminated and replaced; the tab still has one worker and serves a new job', async () => {
    expect(spawned, 'a fresh worker was started').toBeGreaterThanOrEqual(1);
    await expect.poll(() => tab.computeWorkers()).toBe(1);
    const next = await api.createJob({ name: 'after the loop', code: 'export default (n) => n * 2', inputs: [1, 2, 3] });
    await api.waitForCompletion(next.id, 20_000);
    expect((await api.results(next.id)).map((l) => (l.status === 'done' ? l.output : l.error)).sort()).toEqual([2, 4, 6]);
    await expect(tab.tasksDone).toHaveText('8');
    await expect(tab.connection).toHaveText('connected');
  });
});

/** A tab computing with 2 Web Workers. */
async function twoThreadTab(openVolunteer: () => Promise<VolunteerPage>): Promise<VolunteerPage> {
  const tab = await openVolunteer();
  await tab.setThreads(2);
  await tab.start();
  await expect.poll(() => tab.computeWorkers()).toBe(2);
  return tab;
}

/**
 * Run `code` over inputs 0…total − 1, of which `loops` never ends (a time limit of 2 s, one attempt): only it
 * fails, at its own limit, and every other result is `output(n)`, each index once.
 */
async function runWithOneLoop(api: Api, name: string, code: string, total: number, loops: number, output: (n: number) => unknown, waitMs: number): Promise<void> {
  const job = await api.createJob({ name, code, inputs: Array.from({ length: total }, (_, n) => n), timeoutMs: 2_000, maxAttempts: 1 });
  await api.waitForCompletion(job.id, waitMs);
  const lines = await api.results(job.id);
  expect(lines).toHaveLength(total);
  expect(new Set(lines.map((l) => l.index)).size).toBe(total);
  expect(lines.find((l) => l.index === loops), 'only the looping task fails, at its own limit').toMatchObject({ status: 'failed', error: 'timed out after 2000 ms' });
  expect(lines.filter((l) => l.status === 'done' && l.output === output(l.index))).toHaveLength(total - 1);
}

/** How many `results` frames a tab sent, and how many outcomes they carried. */
function resultsFrames(sent: ReadonlyArray<{ items: readonly unknown[] }>): { results: number; items: number } {
  return { results: sent.length, items: sent.reduce((n, f) => n + f.items.length, 0) };
}

test('[P3] a tab runs 3,000 short tasks exactly once each, their outcomes many to a frame, though one loops forever in the middle of a line', async ({ openVolunteer, api }) => {
  test.setTimeout(120_000);
  const tab = await twoThreadTab(openVolunteer);
  // About 0.5 ms each: a short job, so each worker gets a line of attempts and holds outcomes to send them
  // together; index 1500 never ends, with others sent behind it.
  const code = `export default (n) => { if (n === 1500) { for (;;) {} } const end = performance.now() + 0.5; let h = n; while (performance.now() < end) h = (h * 31 + 7) | 0; return n * 2; };`;
  await runWithOneLoop(api, 'short, one loops', code, 3000, 1500, (n) => n * 2, 90_000);
  const frames = resultsFrames(tab.sent('results'));
  expect(frames.items, 'every outcome crossed the socket').toBeGreaterThanOrEqual(3000);
  expect(frames.results, `${frames.items} outcomes in ${frames.results} frames`).toBeLessThan(frames.items / 3);
  await expect(tab.connection).toHaveText('connected');
});

test('[P3] 20 ms tasks go one behind the running one on each worker: each outcome crosses at once, and one that loops blames only itself', async ({ openVolunteer, api }) => {
  test.setTimeout(60_000);
  const tab = await twoThreadTab(openVolunteer);
  // About 20 ms each: not short enough to have outcomes held (worker.ts), short enough to be sent a line of
  // two (pool.ts); index 30 never ends, with another attempt sent behind it. Async, as a Python task is: the
  // attempt sent behind reaches the worker while one awaits, so the worker knows it has a next one.
  const code = `export default async (n) => { await new Promise((r) => setTimeout(r, 1)); if (n === 30) { for (;;) {} } const end = performance.now() + 20; let h = n; while (performance.now() < end) h = (h * 31 + 7) | 0; return n * 3; };`;
  await runWithOneLoop(api, '20 ms, one loops', code, 60, 30, (n) => n * 3, 45_000);
  // Held outcomes would cross in pairs or more; a 20 ms outcome is sent the moment it is known.
  const frames = resultsFrames(tab.sent('results'));
  expect(frames.items, 'every outcome crossed the socket').toBeGreaterThanOrEqual(60);
  expect(frames.results, `${frames.items} outcomes in ${frames.results} frames`).toBeGreaterThan(frames.items * 0.7);
  await expect(tab.connection).toHaveText('connected');
});

test('[P3] outputs of a megabyte from short tasks reach the master in frames under its limit: the job completes, each result once', async ({ openVolunteer, api }) => {
  test.setTimeout(60_000);
  const tab = await twoThreadTab(openVolunteer);
  // Quick to make, so their outcomes wait a few milliseconds to share a frame (P3): together, a dozen would be
  // three times Limits.maxFrameBytes, and the master would close the socket on every try.
  const job = await api.createJob({ name: 'big outputs', code: `export default (n) => String(n).padEnd(1_000_000, 'x')`, inputs: Array.from({ length: 40 }, (_, n) => n) });
  await api.waitForCompletion(job.id, 45_000);
  // A lease goes back 'lost' when its socket closes; 'released' ones are the tab handing back waiting leases
  // when one slow attempt shrinks its prefetch (P3), which says nothing about frame sizes.
  const requeued = await api.requeueReasons();
  expect({ lost: requeued.lost, expired: requeued.expired, failed: requeued.failed }, `no lease went back with a closed socket (requeues ${JSON.stringify(requeued)})`).toEqual({ lost: 0, expired: 0, failed: 0 });
  const lines = await api.results(job.id);
  expect(lines.map((l) => l.index)).toEqual(Array.from({ length: 40 }, (_, n) => n));
  expect(lines.every((l) => l.status === 'done' && l.output === String(l.index).padEnd(1_000_000, 'x'))).toBe(true);
  const sizes = tab.framesSent.filter((f) => f.payload.startsWith('{"type":"results"')).map((f) => Buffer.byteLength(f.payload));
  expect(Math.max(...sizes), 'no frame over the limit').toBeLessThanOrEqual(4 * 1024 * 1024);
  expect(sizes.some((b) => b > 2_000_000), 'some frames carried several outcomes').toBe(true);
  await expect(tab.connection).toHaveText('connected');
  expect(tab.sockets, 'the tab kept the one socket it opened').toBe(1);
});
