/** Reconnection rules every volunteer follows (browser page and headless worker alike). */

/** A master silent for this many heartbeats is gone, even if TCP has not noticed. */
export const MASTER_SILENT_BEATS = 4;

/**
 * Full-jitter exponential backoff: the delay before reconnect attempt `attempt` (0-based) is uniform in
 * [0, min(cap, base * 2^attempt)), so a crowd of volunteers dropped at once does not return in lockstep.
 */
export function backoffMs(attempt: number, baseMs = 250, capMs = 10_000, random: () => number = Math.random): number {
  return random() * Math.min(capMs, baseMs * 2 ** attempt);
}
