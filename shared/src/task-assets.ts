/**
 * `ctx.assets` as job code sees it, in the compute threads of both hosts (the page's sandboxed Web Workers
 * and the headless worker's worker_threads): a job's assets by name, as bytes, text, JSON or a compiled
 * WebAssembly module (rule A6). Each thread keeps the bytes it loaded on a shelf shared by every job that
 * names the same hash, so a 50 MB file is read into a thread once, not once per task, and a module is
 * compiled once per thread. Imports nothing at run time: the sandbox's script stays small.
 */
import type { AssetRef } from './schemas/assets.ts';

// shared/ is compiled without DOM or Node types; both hosts have these.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };
declare class TextDecoder {
  decode(bytes: Uint8Array): string;
}

/** A compiled `WebAssembly.Module` (opaque here: job code hands it to `WebAssembly.instantiate`). */
export interface WasmModule {
  readonly [Symbol.toStringTag]?: string;
}

/** What job code reads as `ctx.assets`. */
export interface TaskAssets {
  /** The names the job gave its assets. */
  readonly names: readonly string[];
  /**
   * The bytes, shared by every task this thread runs: read them, do not change them (`.slice()` makes a
   * copy to change).
   */
  bytes(name: string): Uint8Array;
  /** The bytes decoded as UTF-8, once per thread. */
  text(name: string): string;
  /** The bytes parsed as JSON, once per thread: every task gets the same value, so do not change it. */
  json<T = unknown>(name: string): T;
  /** The bytes compiled as a WebAssembly module, once per thread; instantiate it with its imports. */
  wasm(name: string): Promise<WasmModule>;
}

/**
 * An asset as a compute thread is handed it: what the job says, and where its bytes are (a Blob in the page,
 * a file path in the headless worker), which the volunteer's asset gate fills in once it has them (rule A5).
 */
export interface HandedAsset extends AssetRef {
  source?: unknown;
}

/** Reads a handed asset's bytes (Blob.arrayBuffer in the page, a file read in the headless worker). */
export type ReadAsset = (asset: HandedAsset) => Promise<Uint8Array>;

/** Bytes a thread keeps of assets the job it runs does not name, least recently used first to go. */
export const SHELF_BUDGET_BYTES = 256 * 1024 * 1024;

/** The ctx.assets of a job with no assets: every name is unknown. */
export const NO_ASSETS: TaskAssets = Object.freeze({
  names: Object.freeze([]) as readonly string[],
  bytes: (name: string) => unknown(name, []),
  text: (name: string) => unknown(name, []),
  json: (name: string) => unknown(name, []),
  wasm: async (name: string) => unknown(name, []),
});

function unknown(name: string, names: readonly string[]): never {
  const has = names.length > 0 ? `this job's assets are ${names.map((n) => `"${n}"`).join(', ')}` : 'this job names no assets';
  throw new RangeError(`no asset named "${String(name)}": ${has}`);
}

interface Entry {
  bytes: Uint8Array;
  used: number;
  text?: string;
  json?: { value: unknown };
  wasm?: Promise<WasmModule>;
}

/** One compute thread's assets, by hash. */
export class AssetShelf {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private clock = 0;
  private bytesHeld = 0;

  constructor(
    private readonly read: ReadAsset,
    private readonly budgetBytes = SHELF_BUDGET_BYTES,
  ) {}

  /** Bytes held now. */
  get held(): number {
    return this.bytesHeld;
  }

  /**
   * `ctx.assets` for a job whose assets are `list`: loads what this thread does not hold yet, then lets go
   * of other jobs' assets beyond the budget (never of this job's).
   */
  async open(list: readonly HandedAsset[]): Promise<TaskAssets> {
    if (list.length === 0) return NO_ASSETS;
    const byName = new Map<string, Entry>();
    for (const asset of list) byName.set(asset.name, this.entries.get(asset.sha256) ?? (await this.load(asset)));
    const now = ++this.clock;
    for (const entry of byName.values()) entry.used = now;
    this.evict(new Set(list.map((a) => a.sha256)));
    return assetsOf(byName);
  }

  private load(asset: HandedAsset): Promise<Entry> {
    let loading = this.loading.get(asset.sha256);
    if (!loading) {
      loading = this.read(asset)
        .then((bytes) => {
          if (bytes.byteLength !== asset.size) throw new Error(`asset "${asset.name}" has ${bytes.byteLength} bytes, ${asset.size} expected`);
          const entry: Entry = { bytes, used: 0 };
          this.entries.set(asset.sha256, entry);
          this.bytesHeld += bytes.byteLength;
          return entry;
        })
        .finally(() => this.loading.delete(asset.sha256));
      this.loading.set(asset.sha256, loading);
    }
    return loading;
  }

  private evict(keep: ReadonlySet<string>): void {
    if (this.bytesHeld <= this.budgetBytes) return;
    const others = [...this.entries].filter(([sha]) => !keep.has(sha)).sort((a, b) => a[1].used - b[1].used);
    for (const [sha, entry] of others) {
      if (this.bytesHeld <= this.budgetBytes) break;
      this.entries.delete(sha);
      this.bytesHeld -= entry.bytes.byteLength;
    }
  }
}

function assetsOf(byName: ReadonlyMap<string, Entry>): TaskAssets {
  const names = Object.freeze([...byName.keys()]);
  const entry = (name: string): Entry => byName.get(name) ?? unknown(name, names);
  return Object.freeze({
    names,
    bytes: (name: string) => entry(name).bytes,
    text: (name: string) => {
      const e = entry(name);
      return (e.text ??= new TextDecoder().decode(e.bytes));
    },
    json: <T>(name: string): T => {
      const e = entry(name);
      e.json ??= { value: JSON.parse(e.text ?? new TextDecoder().decode(e.bytes)) as unknown };
      return e.json.value as T;
    },
    wasm: (name: string) => {
      let e: Entry;
      try {
        e = entry(name);
      } catch (err) {
        return Promise.reject(err as Error);
      }
      // A module that fails to compile is not kept: the error says why, every time it is asked for.
      return (e.wasm ??= WebAssembly.compile(e.bytes).catch((err: unknown) => {
        e.wasm = undefined;
        throw err;
      }));
    },
  });
}
