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

export function agentFamily(ua: string): { browser: string; os: string } {
  return { browser: first(BROWSERS, ua), os: ua.startsWith('node/') ? 'server' : first(SYSTEMS, ua) };
}
