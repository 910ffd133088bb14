/**
 * Wires the page together: the store, the sandbox frame, the worker pool and the socket client, plus the
 * browser events they care about (visibility, pagehide). Nothing is created before the visitor presses
 * Start, so a visitor who only reads the page runs nothing and opens no socket.
 */
// The bare Check rather than the Value namespace object, which would pull every Value operator into the bundle.
import { Check } from '@sinclair/typebox/value';
import { AssetGate, ConnectionState, isPyodideAsset, type FetchAsset, MasterMessageSchema, VolunteerCore, volunteerSocketUrl, type MasterMessage, type Site, type Stats } from '@barnraise/shared';
import { SandboxFrame } from '../sandbox/host.ts';
import { WorkerPool } from '../sandbox/pool.ts';
import { browserAssets } from './assets.ts';
import { browserIdentity } from './identity.ts';
import { clampThreads, useVolunteer } from './store.ts';

const STATS_EVERY_MS = 5_000;

let client: VolunteerCore | null = null;

/**
 * A task queued behind the current one, after other pending events; unlike setTimeout it is not throttled in
 * hidden tabs. A wait asked for (outcomes of short attempts gathering into one frame) is a timer while the
 * tab is visible; hidden, where timers may be held back for a second or more, the outcomes go at once.
 */
function deferrer(): (fn: () => void, ms: number) => void {
  const channel = new MessageChannel();
  const queue: Array<() => void> = [];
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn, ms) => {
    if (ms > 0 && !document.hidden) return void setTimeout(fn, ms);
    queue.push(fn);
    channel.port2.postMessage(null);
  };
}

function getClient(): VolunteerCore {
  if (client) return client;
  const store = useVolunteer.getState();
  const fetchAsset = browserAssets(location.origin, (msg) => console.warn(msg), (asset, downloaded) => {
    if (isPyodideAsset(asset.name)) store.pythonAssetGot(asset.size, downloaded);
  });
  // [Y6] Pyodide's files are counted as they come, so the page can say it is loading Python, and how much.
  const assets: FetchAsset = (asset) => {
    if (!isPyodideAsset(asset.name)) return fetchAsset(asset);
    store.pythonAssetWanted(asset.size);
    return fetchAsset(asset).catch((err: unknown) => {
      store.pythonAssetFailed(asset.size);
      throw err;
    });
  };
  const frame = new SandboxFrame((why) => {
    store.reportProblem(why);
    stop();
  });
  client = new VolunteerCore({
    url: volunteerSocketUrl(location.href),
    connect: (url) => new WebSocket(url),
    // [A5] Leases wait in the gate until their job's assets are here (Cache Storage, else the master).
    createPool: (events) => new AssetGate(new WorkerPool(frame, events), assets, events),
    sink: store,
    // Value.Check, not TypeCompiler: the page's Content-Security-Policy forbids eval.
    isMasterMessage: (v): v is MasterMessage => Check(MasterMessageSchema, v),
    agent: 'browser',
    // [V1] Kept in this origin's IndexedDB; a browser without it (private modes) joins anonymously.
    identity: browserIdentity(),
    defer: deferrer(),
    ua: navigator.userAgent,
  });
  client.setHidden(document.hidden);
  client.setPauseWhenHidden(store.pauseWhenHidden);
  return client;
}

/** Start (or resume) donating with the chosen number of threads. */
export function start(): void {
  const { threads, setRunning } = useVolunteer.getState();
  setRunning(true);
  getClient().start(threads);
}

export function stop(): void {
  useVolunteer.getState().setRunning(false);
  client?.stop();
}

export function setThreads(n: number): void {
  const store = useVolunteer.getState();
  store.setThreads(clampThreads(n));
  client?.setThreads(useVolunteer.getState().threads);
}

export function setPauseWhenHidden(on: boolean): void {
  useVolunteer.getState().setPauseWhenHidden(on);
  client?.setPauseWhenHidden(on);
}

async function getJson<T>(path: string): Promise<T | null> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' } });
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

/** Load the operator's text and keep swarm totals fresh while no socket brings them. */
export function boot(): void {
  void getJson<Site>('/api/site').then((site) => {
    if (!site) return;
    useVolunteer.getState().setSite(site);
    document.title = site.title;
  });
  const poll = async () => {
    if (useVolunteer.getState().connectionState === ConnectionState.connected || document.hidden) return;
    const stats = await getJson<Stats>('/api/stats');
    if (stats) useVolunteer.getState().statsPolled(stats);
  };
  void poll();
  setInterval(() => void poll(), STATS_EVERY_MS);

  document.addEventListener('visibilitychange', () => client?.setHidden(document.hidden));
  // Leaving: hand the leases back now, rather than have the master find out from a closed socket.
  window.addEventListener('pagehide', () => client?.leave());
  // Back from the back/forward cache: carry on if the visitor had not pressed Stop.
  window.addEventListener('pageshow', (e) => {
    if (e.persisted && useVolunteer.getState().running) start();
  });
}
