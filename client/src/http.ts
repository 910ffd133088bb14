/**
 * One request to the master, and retries of transient failures. Only what fetch gives, so it runs in Node
 * 20 and in browsers alike. Every operation of the API may be repeated safely (reads, cancel, retry of
 * failed tasks, identity verdicts; a job submission carries an Idempotency-Key), so all of them retry a few
 * times; a submission sent without a key (`notRepeatable`) only when the master says it did nothing.
 */
import { apiError, ApiError, ConnectionError, RateLimitedError } from './errors.ts';

export interface RequestOptions {
  /** A JSON body. */
  json?: unknown;
  /** A JSON body already encoded (sent as it is). */
  jsonText?: string;
  /** Raw bytes (an asset): a Blob is read again on each retry (a file-backed one streams from disk). */
  bytes?: Uint8Array | Blob;
  headers?: Record<string, string>;
  /** Aborts the request, and its retries. */
  signal?: AbortSignal | undefined;
  /** Ends the retries (not the request in flight) when it aborts: for a submit whose outcome must be known. */
  stopRetries?: AbortSignal | undefined;
  /**
   * The request must not be repeated once the master may have acted on it (a submit without an
   * Idempotency-Key): only a reply saying it did nothing (429, 503) is tried again.
   */
  notRepeatable?: boolean;
}

/** Longest wait between two tries, whatever a Retry-After says. */
const MAX_DELAY_MS = 10_000;

/** A failure worth trying again: no reply, the master going away or busy, or a proxy's. */
export function isTransient(err: unknown): boolean {
  return err instanceof ConnectionError || (err instanceof ApiError && [429, 502, 503, 504].includes(err.status));
}

/** A reply by which the master says it did nothing with the request (so even a non-repeatable one may go again). */
function refused(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 429 || err.status === 503);
}

/** Wait `ms`, or reject with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Delay before try number `n` (1-based) of something that failed: exponential with jitter. */
export function backoffMs(n: number, baseMs = 200, capMs = 5_000): number {
  const ms = Math.min(capMs, baseMs * 2 ** (n - 1));
  return ms / 2 + Math.random() * (ms / 2);
}

export class Http {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly fetchFn: typeof fetch,
    /** Further tries of a transient failure. */
    readonly retries: number,
  ) {}

  /** One try: the response when 2xx; otherwise an ApiError, a ConnectionError, or the signal's reason. */
  async once(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Uint8Array | Blob | undefined;
    if (opts.jsonText !== undefined || opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = opts.jsonText ?? JSON.stringify(opts.json);
    } else if (opts.bytes) {
      headers['content-type'] = 'application/octet-stream';
      body = opts.bytes;
    }
    let res: Response;
    try {
      res = await this.fetchFn(new URL(path, this.baseUrl), { method, headers, body: body as BodyInit | undefined, signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw new ConnectionError(`${method} ${path}: cannot reach the master at ${this.baseUrl} (${(err as Error).cause ?? (err as Error).message})`, { cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's page): the status says enough.
    }
    throw apiError(res.status, parsed, res.headers.get('retry-after'));
  }

  /** `once`, tried again after transient failures (up to `retries` more times). */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    for (let n = 1; ; n++) {
      try {
        return await this.once(method, path, opts);
      } catch (err) {
        const stop = opts.stopRetries ?? opts.signal;
        if (n > this.retries || !(opts.notRepeatable ? refused(err) : isTransient(err)) || stop?.aborted) throw err;
        const asked = err instanceof RateLimitedError && err.retryAfterS !== undefined ? err.retryAfterS * 1000 : 0;
        await sleep(Math.min(MAX_DELAY_MS, Math.max(asked, backoffMs(n))), stop);
      }
    }
  }

  /** `request` and its JSON reply. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    return (await res.json()) as T;
  }
}
