/**
 * The sandbox frame's script, inlined into sandbox.html (which the page loads in
 * `<iframe sandbox="allow-scripts">`, an opaque origin). It owns the compute workers, so they inherit its
 * opaque origin (no IndexedDB, localStorage or BroadcastChannel of the master's origin) and its CSP
 * (no fetch, XHR, WebSocket, EventSource, importScripts or imports except blob: URLs made inside).
 * It only spawns and terminates: attempts travel on a MessagePort straight between page and worker.
 */
import type { FromFrame, ToFrame } from './messages.ts';

/** The compute worker's bundled source, put here at build time (see build/sandbox.ts). */
declare const __WORKER_SOURCE__: string;

// Refuse to run unless sandboxed: opened top-level or without the sandbox attribute, this document would
// have the master's origin, and its workers with it.
if (self.origin !== 'null' || window.parent === window) {
  throw new Error('sandbox.html must be loaded in <iframe sandbox="allow-scripts">');
}

const workerUrl = URL.createObjectURL(new Blob([__WORKER_SOURCE__], { type: 'text/javascript' }));
const workers = new Map<number, Worker>();
const tell = (msg: FromFrame) => window.parent.postMessage(msg, '*');

window.addEventListener('message', (e: MessageEvent<ToFrame>) => {
  if (e.source !== window.parent) return;
  const msg = e.data;
  if (msg.t === 'spawn') {
    const port = e.ports[0];
    if (!port) return;
    const worker = new Worker(workerUrl);
    worker.onerror = (ev) => {
      ev.preventDefault();
      tell({ t: 'worker-error', id: msg.id, message: ev.message || 'worker failed' });
    };
    worker.postMessage(null, [port]);
    workers.set(msg.id, worker);
  } else if (msg.t === 'terminate') {
    workers.get(msg.id)?.terminate();
    workers.delete(msg.id);
  }
});

tell({ t: 'ready' });
