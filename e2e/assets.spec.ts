/**
 * Assets in browser tabs (SPEC.md A4-A6): a WebAssembly module and a data file used by jobs in two tabs.
 * Each tab fetches each asset once; a second job using them costs no asset bytes; a reloaded tab reads
 * them from Cache Storage and downloads nothing; job code still reaches no network, the assets included.
 */
import { ADD_WASM } from '../shared/src/testing/add-wasm.ts';
import { expect, test, type VolunteerPage } from './fixtures.ts';

/** A data file: 2,000 numbers as JSON. */
const TABLE = Buffer.from(JSON.stringify(Array.from({ length: 2000 }, (_, i) => (i * 37) % 1000)));
const expected = (n: number) => n + ((n * 37) % 1000);

// Busy for a while, so that both tabs get tasks of the job; each worker notes the module objects it was given.
const code = (tag: string) => `export default async (n, ctx) => {
  const end = Date.now() + 40;
  while (Date.now() < end);
  const mod = await ctx.assets.wasm('add.wasm');
  const seen = (globalThis.__modules ??= new WeakSet());
  const reused = seen.has(mod);
  seen.add(mod);
  const { exports } = await WebAssembly.instantiate(mod);
  return { sum: exports.add(n, ctx.assets.json('table.json')[n]), reused, tag: ${JSON.stringify(tag)} };
}`;

/** Asset requests a tab made, and their bytes, once every response is in. */
async function assetTraffic(tab: VolunteerPage): Promise<{ requests: number; bytes: number }> {
  await expect.poll(() => tab.assetRequests.every((r) => r.bytes !== undefined), { message: 'asset responses read' }).toBe(true);
  return { requests: tab.assetRequests.length, bytes: tab.assetRequests.reduce((n, r) => n + (r.bytes ?? 0), 0) };
}

test('[A4][A6] a WebAssembly module and a data file used by jobs in two tabs: each tab fetches each once; a second job, and a reloaded tab, fetch nothing', async ({ openVolunteer, api }) => {
  const wasm = await api.putAsset(ADD_WASM);
  const table = await api.putAsset(TABLE);
  const assets = { 'add.wasm': wasm, 'table.json': table };
  const both = ADD_WASM.length + TABLE.length;
  const tabs = [await openVolunteer(), await openVolunteer()];
  for (const tab of tabs) {
    await tab.setThreads(2);
    await tab.start();
  }

  await test.step('the first job runs in both tabs, with the right results', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => i * 50);
    const job = await api.createJob({ name: 'wasm and data', code: code('first'), inputs, assets });
    expect(job.assets).toEqual([
      { name: 'add.wasm', sha256: wasm, size: ADD_WASM.length },
      { name: 'table.json', sha256: table, size: TABLE.length },
    ]);
    await api.waitForCompletion(job.id);
    const lines = await api.results(job.id);
    expect(lines.map((l) => (l.status === 'done' ? (l.output as { sum: number }).sum : l.error))).toEqual(inputs.map(expected));
    for (const [k, tab] of tabs.entries()) expect(await tab.tasksDoneCount(), `tab ${k + 1} ran some of it`).toBeGreaterThan(0);
  });

  await test.step('each tab fetched each asset once, whatever its number of tasks and workers', async () => {
    for (const tab of tabs) {
      expect(await assetTraffic(tab)).toEqual({ requests: 2, bytes: both });
      expect(tab.assetRequests.map((r) => r.status)).toEqual([200, 200]);
    }
    expect(await api.assetBytesSent()).toBe(2 * both);
  });

  await test.step('a second job using the same assets: no asset bytes again, and each worker reuses the module it compiled', async () => {
    const inputs = Array.from({ length: 30 }, (_, i) => i * 60 + 1);
    const job = await api.createJob({ name: 'same assets, new job', code: code('second'), inputs, assets });
    await api.waitForCompletion(job.id);
    const outputs = (await api.results(job.id)).map((l) => (l.status === 'done' ? (l.output as { sum: number; reused: boolean }) : { sum: NaN, reused: false }));
    expect(outputs.map((o) => o.sum)).toEqual(inputs.map(expected));
    // Four workers in all: at most four first sights (a worker the first job never reached).
    expect(outputs.filter((o) => !o.reused).length).toBeLessThanOrEqual(4);
    for (const tab of tabs) expect(await assetTraffic(tab)).toEqual({ requests: 2, bytes: both });
    expect(await api.assetBytesSent()).toBe(2 * both);
  });

  await test.step('the assets are in the tab\'s Cache Storage, by URL', async () => {
    const urls = await tabs[0]!.page.evaluate(async () => (await (await caches.open('barnraise-assets')).keys()).map((r) => new URL(r.url).pathname).sort());
    expect(urls).toEqual([`/api/assets/${wasm}`, `/api/assets/${table}`].sort());
  });

  await test.step('a reloaded tab (a returning volunteer) takes them from Cache Storage: not one request', async () => {
    const [tab, other] = tabs as [VolunteerPage, VolunteerPage];
    await other.stop();
    await tab.reloadAndResume();
    const before = tab.assetRequests.length;
    const inputs = [3, 5, 7, 11];
    const job = await api.createJob({ name: 'after a reload', code: code('third'), inputs, assets });
    await api.waitForCompletion(job.id);
    expect((await api.results(job.id)).map((l) => (l.status === 'done' ? (l.output as { sum: number }).sum : l.error))).toEqual(inputs.map(expected));
    expect(tab.assetRequests.length - before, 'asset requests after the reload').toBe(0);
    expect(await api.assetBytesSent()).toBe(2 * both);
  });
});

test('[A4] a damaged entry in Cache Storage is not used: it is dropped and the asset fetched again', async ({ openVolunteer, api }) => {
  const table = await api.putAsset(TABLE);
  const tab = await openVolunteer();
  await tab.page.evaluate(async (url) => {
    const cache = await caches.open('barnraise-assets');
    await cache.put(url, new Response('[1, 2, 3] not the table'));
  }, `/api/assets/${table}`);
  await tab.start();
  const job = await api.createJob({ code: 'export default (n, ctx) => ctx.assets.json("t")[n]', inputs: [0, 1, 2, 3], assets: { t: table } });
  await api.waitForCompletion(job.id);
  expect((await api.results(job.id)).map((l) => (l.status === 'done' ? l.output : l.error))).toEqual([0, 1, 2, 3].map((n) => (n * 37) % 1000));
  expect(await assetTraffic(tab)).toEqual({ requests: 1, bytes: TABLE.length });
  const cached = await tab.page.evaluate(async (url) => (await (await caches.open('barnraise-assets')).match(url))?.text(), `/api/assets/${table}`);
  expect(cached).toBe(TABLE.toString());
});

test('[A6][S4] job code cannot fetch an asset itself, from the master or anywhere: ctx.assets is its way to the bytes', async ({ openVolunteer, api, master }) => {
  const table = await api.putAsset(TABLE);
  const tab = await openVolunteer();
  await tab.start();
  const escape = `export default async (how, ctx) => {
    if (how === 'ctx') return ctx.assets.bytes('t').length;
    if (how === 'fetch') return (await fetch(${JSON.stringify(`${master.url}/api/assets/${table}`)})).status;
    return (await fetch('/api/assets/${table}')).status;
  }`;
  const job = await api.createJob({ code: escape, inputs: ['ctx', 'fetch', 'relative'], maxAttempts: 1, assets: { t: table } });
  await api.waitForCompletion(job.id);
  const [viaCtx, viaFetch, viaRelative] = await api.results(job.id);
  expect(viaCtx).toMatchObject({ status: 'done', output: TABLE.length });
  expect(viaFetch).toMatchObject({ status: 'failed', error: expect.stringMatching(/sandbox: network access is not allowed \(fetch http:\/\/127\.0\.0\.1:\d+\/api\/assets\/[0-9a-f]{64}\)/) });
  expect(viaRelative).toMatchObject({ status: 'failed', error: expect.stringContaining('sandbox: network access is not allowed (fetch /api/assets/') });
  // The one fetch of the asset was the page's, for ctx.assets.
  expect(await assetTraffic(tab)).toEqual({ requests: 1, bytes: TABLE.length });
  expect(await api.assetBytesSent()).toBe(TABLE.length);
});
