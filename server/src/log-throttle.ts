/**
 * An error handler that logs the first failure at once, then at most one line every `everyMs` saying how
 * many were held back: while the store is down every commit and every claim fails, many times a second.
 */
export function throttled(log: (err: unknown, heldBack: number) => void, everyMs = 5000, now: () => number = Date.now): (err: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  let heldBack = 0;
  return (err) => {
    const t = now();
    if (t - last < everyMs) {
      heldBack++;
      return;
    }
    log(err, heldBack);
    last = t;
    heldBack = 0;
  };
}
