/** Where the page's socket goes: the master that served the page, same scheme family, same join key. */
import { VOLUNTEER_PATH } from '@barnraise/shared';

/**
 * The page-URL query parameter that carries an operator's join key (`/?key=...`), forwarded to the socket.
 * The same name as JOIN_KEY_PARAM of the join-key work in shared/src/protocol.ts; import it once that lands.
 */
export const JOIN_KEY_PARAM = 'key';

/** The volunteer WebSocket URL for a page loaded from `pageUrl`. */
export function volunteerSocketUrl(pageUrl: string): string {
  const page = new URL(pageUrl);
  const url = new URL(VOLUNTEER_PATH, page);
  url.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  const key = page.searchParams.get(JOIN_KEY_PARAM);
  if (key) url.searchParams.set(JOIN_KEY_PARAM, key);
  return url.href;
}
