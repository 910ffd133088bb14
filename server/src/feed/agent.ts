/**
 * Browser and OS family from a User-Agent string, for the volunteers table. Families only, on purpose:
 * the dashboard needs "Firefox on Android", not a fingerprint, and a dozen patterns cover the families.
 */
const BROWSERS: Array<[RegExp, string]> = [
  [/Edg(e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/SamsungBrowser\//, 'Samsung Internet'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrom(e|ium)\/|CriOS\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/^node\//, 'Node.js'],
];
const SYSTEMS: Array<[RegExp, string]> = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/CrOS/, 'ChromeOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux|X11/, 'Linux'],
];

const first = (table: Array<[RegExp, string]>, ua: string) => table.find(([re]) => re.test(ua))?.[1] ?? 'other';

/** What a master's own local workers add to their User-Agent (rule N3). */
export const LOCAL_WORKER_MARK = '(barnraise local worker)';

export function agentFamily(ua: string): { browser: string; os: string } {
  // A headless worker's "system" is where it runs: a server, or this master's own local workers (rule N3).
  const headless = ua.includes(LOCAL_WORKER_MARK) ? 'this master' : 'server';
  return { browser: first(BROWSERS, ua), os: ua.startsWith('node/') ? headless : first(SYSTEMS, ua) };
}
