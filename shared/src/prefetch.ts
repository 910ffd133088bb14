/**
 * [P3] How many leases a volunteer holds per thread, by how long tasks take: enough to cover about
 * PREFETCH_WINDOW_MS of work, a round trip to the master and back with room to spare, so no thread waits on
 * the wire when tasks are tiny; and little when they are long, so a job's tail is not held by a volunteer
 * sitting on work others could run. The volunteer asks by it and the master caps each job's leases by it.
 */
export const PREFETCH_WINDOW_MS = 50;
/** One running, one waiting: a thread never idles for a round trip, whatever the task length. */
export const MIN_PREFETCH = 2;
/**
 * At most this many a thread, and 256 a connection (Limits.maxCreditsPerConnection). 128 a thread left a
 * one-thread volunteer of trivial tasks about 20 ms of work, less than three masters sharing 2 cores with
 * PostgreSQL took to answer: the cluster benchmark's three masters read 0.84-0.99x one master at 128 and
 * 1.06-1.20x at 256 (six interleaved pairs; BENCHMARKS.md, eleventh pass).
 */
export const MAX_PREFETCH = 256;

/** Leases per thread for tasks of `avgMs` on average; unknown (undefined, not finite) gets the minimum. */
export function leasesPerThread(avgMs: number | undefined): number {
  if (avgMs === undefined || !Number.isFinite(avgMs) || avgMs < 0) return MIN_PREFETCH;
  return Math.max(MIN_PREFETCH, Math.min(MAX_PREFETCH, Math.ceil(PREFETCH_WINDOW_MS / Math.max(avgMs, 0.01))));
}

/**
 * [P3] Waiting leases past capacity that a thread would start within this long, at the measured task length,
 * are kept rather than handed back: one slow attempt among quick ones lowers the estimate, and what it
 * would hand back runs within this time anyway, after a requeue and a lease again. A second of work a thread
 * holds a job's tail only that long.
 */
export const KEEP_WAITING_MS = 1000;

/** Leases kept by `threads` threads when over a capacity of `cap` (0 only when nothing may be held), for tasks of `avgMs`. */
export function leasesKept(cap: number, threads: number, avgMs: number | undefined): number {
  if (cap === 0 || avgMs === undefined || !Number.isFinite(avgMs) || avgMs < 0) return cap;
  return Math.max(cap, threads * Math.floor(KEEP_WAITING_MS / Math.max(avgMs, 0.01)));
}

/** Smooth a duration into an average (undefined: the first). */
export function smoothMs(avg: number | undefined, ms: number): number {
  return avg === undefined ? ms : 0.8 * avg + 0.2 * ms;
}

/**
 * [P3] Outcomes of attempts shorter than this (ms, on average) wait a little for others before they are
 * sent, so that one `results` frame carries many: the master, and a browser's network process, pay per
 * frame, and a page that sent one frame per tiny attempt spent on them the CPU its threads wanted. The wait
 * is a fifth of the work the leases held cover, at most RESULTS_WINDOW_MS: the credits the outcomes free
 * return long before those leases run out. Under a millisecond it is not worth a timer.
 */
export const SHORT_RESULT_MS = 5;
export const RESULTS_WINDOW_MS = PREFETCH_WINDOW_MS / 5;

/** How long the outcomes of attempts of `avgMs` on average may wait for others (0: send at the next turn), for a volunteer holding `perThread` leases a thread. */
export function resultsWindowMs(avgMs: number | undefined, perThread: number): number {
  if (avgMs === undefined || !Number.isFinite(avgMs) || avgMs < 0 || avgMs >= SHORT_RESULT_MS) return 0;
  const ms = Math.min(RESULTS_WINDOW_MS, (perThread * avgMs) / 5);
  return ms >= 1 ? Math.floor(ms) : 0;
}
