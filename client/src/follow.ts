/**
 * The results stream of a job, read so that a dropped connection costs nothing: the master sends every
 * final task in index order, then (followed) each task as it becomes final; a new read starts over, so
 * the reader keeps a bitmap of the indices it has handed out and skips them. Nothing is repeated, nothing
 * is missed, at the price of reading the final tasks again after each drop.
 */
import type { JobSummary, ResultLine } from '@barnraise/shared';
import { ConnectionError } from './errors.ts';
import { backoffMs, isTransient, sleep, type Http } from './http.ts';

/** Reconnections in a row that bring nothing new before the reader gives up (about half a minute). */
const MAX_FRUITLESS = 8;

/** The lines of an NDJSON body, parsed. A connection that ends inside a line is a ConnectionError. */
export async function* ndjson(body: ReadableStream<Uint8Array>, onWait?: (waiting: boolean) => void): AsyncGenerator<unknown> {
  // (TS types TextDecoderStream as taking any BufferSource, which a Uint8Array stream is.)
  const reader = body.pipeThrough(new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>).getReader();
  let rest = '';
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      onWait?.(true);
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new ConnectionError(`the results stream broke: ${(err as Error).message}`, { cause: err });
      } finally {
        onWait?.(false);
      }
      if (chunk.done) break;
      const lines = (rest + chunk.value).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line) yield JSON.parse(line);
    }
    if (rest.trim()) throw new ConnectionError('the results stream ended inside a line');
  } finally {
    // Leaving early (a break, an abort) closes the connection, and so the master's side of the stream.
    reader.cancel().catch(() => undefined);
  }
}

export interface FollowOptions {
  /** Keep reading until the job ends (default), or read only the tasks final now. */
  follow?: boolean;
  signal?: AbortSignal | undefined;
  /**
   * A followed stream is silent while tasks run, and a connection that died without a word (a NAT dropping
   * it, a laptop's sleep) is silent too: after this long without a byte the reader asks the master how many
   * tasks have ended, and reads again if it has missed some. Default 30 s.
   */
  idleMs?: number;
}

/** A signal that aborts when either does (AbortSignal.any, where there is one). */
function either(a: AbortSignal | undefined, b: AbortSignal): AbortSignal {
  if (!a) return b;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([a, b]);
  const both = new AbortController();
  for (const s of [a, b]) s.addEventListener('abort', () => both.abort(s.reason), { once: true });
  return both.signal;
}

/**
 * Watch a followed read: when it has waited `idleMs` for a byte while the master says more tasks have ended
 * than were read (or cannot be asked), abort it, so that the reader reads again. Time the reader's own
 * consumer spends between reads does not count.
 */
function watchdog(http: Http, id: string, idleMs: number, read: () => number, stale: AbortController): { waiting(w: boolean): void; stop(): void } {
  let since: number | null = Date.now();
  let checking = false;
  const timer = setInterval(() => {
    if (checking || since === null || Date.now() - since < idleMs) return;
    checking = true;
    http
      .once('GET', `/api/jobs/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(idleMs) })
      .then((r) => r.json() as Promise<JobSummary>)
      .then(
        (job) => job.counts.done + job.counts.failed > read(),
        () => true,
      )
      .then((missed) => {
        if (missed) stale.abort(new ConnectionError(`the results stream was silent for ${idleMs} ms while tasks ended`));
        if (since !== null) since = Date.now();
        checking = false;
      });
  }, Math.max(50, idleMs / 4));
  return { waiting: (w) => (since = w ? Date.now() : null), stop: () => clearInterval(timer) };
}

/**
 * Every final task of job `id` exactly once, in the stream's order: those final at the first read in index
 * order, then the rest as they end. Reconnects after a drop (or the master restarting) and skips what it
 * has handed out. Ends when every task has been seen, or when the job has ended (cancelled) without them.
 */
export async function* followResults(http: Http, id: string, total: number, opts: FollowOptions = {}): AsyncGenerator<ResultLine> {
  const { signal } = opts;
  const follow = opts.follow ?? true;
  const seen = new Uint8Array(total);
  let count = 0;
  /** The job has ended: one more plain read collects whatever a drop cut off, then stop. */
  let lastRead = false;
  for (let fruitless = 0; ; ) {
    let progressed = false;
    const stale = new AbortController();
    const dog = follow && !lastRead ? watchdog(http, id, opts.idleMs ?? 30_000, () => count, stale) : null;
    try {
      const res = await http.once('GET', `/api/jobs/${encodeURIComponent(id)}/results${follow && !lastRead ? '?follow=true' : ''}`, { signal: either(signal, stale.signal) });
      for await (const value of ndjson(res.body!, dog?.waiting)) {
        const line = value as ResultLine;
        if (seen[line.index]) continue;
        seen[line.index] = 1;
        count++;
        progressed = true;
        yield line;
      }
      if (count >= total || !follow || lastRead) return;
      // The stream ended before every task did: the job was cancelled, or the master is going away.
      const job = await http.once('GET', `/api/jobs/${encodeURIComponent(id)}`, { signal }).then((r) => r.json() as Promise<JobSummary>);
      if (job.status === 'completed' || job.status === 'cancelled') {
        lastRead = true;
        continue;
      }
      throw new ConnectionError('the results stream ended before the job did');
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (stale.signal.aborted) err = stale.signal.reason;
      fruitless = progressed ? 1 : fruitless + 1;
      if (!isTransient(err) || fruitless > MAX_FRUITLESS) throw err;
      await sleep(backoffMs(fruitless, 100), signal);
    } finally {
      dog?.stop();
    }
  }
}

/** Items of `source` (each index once) in index order from 0, holding back those that come early. */
export async function* inIndexOrder<T extends { index: number }>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const early = new Map<number, T>();
  let next = 0;
  for await (const item of source) {
    if (item.index !== next) {
      early.set(item.index, item);
      continue;
    }
    yield item;
    for (next++; early.has(next); next++) {
      const held = early.get(next)!;
      early.delete(next);
      yield held;
    }
  }
  // A job cancelled before every task ended leaves gaps: what came, still in order.
  for (const index of [...early.keys()].sort((a, b) => a - b)) yield early.get(index)!;
}
