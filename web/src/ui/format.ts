/** Display formats shared by the page's components. */

/** "0.0 s", "4.2 s", "42 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, Math.floor(ms / 100)) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

const counter = new Intl.NumberFormat('en-US');
/** 1234567 -> "1,234,567". */
export const formatCount = (n: number) => counter.format(n);

/** Tasks per second with sensible precision. */
export const formatRate = (perSecond: number) => (perSecond >= 10 ? Math.round(perSecond).toString() : perSecond.toFixed(1));

/** 13_456_789 -> "13.5 MB" (decimal megabytes, as a download is usually told); under 1 MB in kB. */
export const formatBytes = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`);
