/** Messages between the master's event loop and its store thread (threaded.ts ⇄ thread.ts). */
import type { Store } from './store.ts';

/** The Store methods the thread serves: every one of them, by name (not `watchJobs`: one SQLite master is alone). */
export type StoreMethod = Exclude<keyof Store, 'close' | 'watchJobs'> | 'close';

export interface StoreCall {
  id: number;
  method: StoreMethod;
  args: unknown[];
}

/** An error as it crosses the thread boundary: enough to rebuild an Error with SQLite's code. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type StoreReply =
  | { type: 'ready' }
  | { type: 'failed-to-open'; error: WireError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack ? { stack: err.stack } : {}) };
  }
  return { name: 'Error', message: String(err) };
}

export function fromWire(w: WireError): Error {
  const err = new Error(w.message) as Error & { code?: string };
  err.name = w.name;
  if (w.code !== undefined) err.code = w.code;
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}
