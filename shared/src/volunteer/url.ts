/** Where a volunteer's socket goes. */
import { JOIN_KEY_PARAM, VOLUNTEER_PATH } from '../protocol.ts';

/**
 * The volunteer WebSocket URL for a master's page or base URL (http(s) or ws(s)): same host, ws(s) scheme,
 * and the join key of a private swarm (rule S3), from `joinKey` or from the URL's own `?key=`.
 */
export function volunteerSocketUrl(masterUrl: string, joinKey?: string): string {
  const base = new URL(masterUrl);
  const url = new URL(VOLUNTEER_PATH, base);
  url.protocol = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  const key = joinKey ?? base.searchParams.get(JOIN_KEY_PARAM);
  if (key) url.searchParams.set(JOIN_KEY_PARAM, key);
  return url.href;
}

/** The http(s) origin of a master from its volunteer socket URL (or page URL), where its assets are (rule A4). */
export function masterOrigin(url: string): string {
  const u = new URL(url);
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}`;
}
