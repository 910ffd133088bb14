/**
 * Clear errors for what the sandbox forbids. The Content-Security-Policy of sandbox.html is what actually
 * blocks the network (it holds in nested workers and against any trick below); these stand-ins only make a
 * job that tries fail with a message that names the sandbox instead of a bare "Failed to fetch".
 */
import { SANDBOX_ERROR_PREFIX } from './messages.ts';

export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly code = 'sandbox_refused' as const;
}

/** Throws e.g. "sandbox: network access is not allowed (fetch http://example.org/)". */
const refuse = (kind: 'network' | 'storage', api: string, target?: unknown): never => {
  const where = typeof target === 'string' || target instanceof URL ? ` ${String(target)}` : '';
  throw new SandboxError(`${SANDBOX_ERROR_PREFIX} ${kind} access is not allowed (${api}${where})`);
};

/** Globals a job could use to reach the network or storage, and what each one is. */
const NETWORK = ['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'WebTransport', 'importScripts'] as const;

/** Replace network and storage globals of a worker scope with stand-ins that throw SandboxError. */
export function installGuards(scope: object): void {
  const define = (name: string, value: unknown) =>
    Object.defineProperty(scope, name, { value, writable: false, configurable: false, enumerable: false });
  for (const name of NETWORK) {
    if (!(name in scope)) continue;
    // A function that throws serves both as a call (fetch, importScripts) and as a constructor (new WebSocket).
    define(name, name === 'fetch' ? (target: unknown) => Promise.reject(safely(() => refuse('network', name, target))) : function (target: unknown) { refuse('network', name, target); });
  }
  // IndexedDB and the Cache API are refused by the opaque origin itself and Web Storage does not exist in
  // workers; these stand-ins give all of them the same plain message.
  const noIdb = () => refuse('storage', 'indexedDB');
  define('indexedDB', { open: noIdb, deleteDatabase: noIdb, databases: () => Promise.reject(safely(noIdb)), cmp: noIdb });
  const noCache = () => Promise.reject(safely(() => refuse('storage', 'caches')));
  define('caches', { open: noCache, has: noCache, delete: noCache, keys: noCache, match: noCache });
  for (const name of ['localStorage', 'sessionStorage']) {
    const no = () => refuse('storage', name);
    define(name, { getItem: no, setItem: no, removeItem: no, clear: no, key: no, get length() { return no(); } });
  }
}

function safely(fn: () => never): unknown {
  try {
    return fn();
  } catch (err) {
    return err;
  }
}

/** A Content-Security-Policy violation seen in the worker, rendered for a task's error. */
export function describeViolation(e: { violatedDirective?: string; effectiveDirective?: string; blockedURI?: string }): string {
  const directive = e.effectiveDirective || e.violatedDirective || 'policy';
  const uri = e.blockedURI ? ` ${e.blockedURI}` : '';
  return `${SANDBOX_ERROR_PREFIX} blocked by the Content-Security-Policy (${directive}${uri})`;
}
