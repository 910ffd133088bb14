/** Where the page's socket goes: the master that served the page, same scheme family, same join key. */
import { JOIN_KEY_PARAM, VOLUNTEER_PATH } from '@barnraise/shared';

/** The volunteer WebSocket URL for a page loaded from `pageUrl`; an operator's join key (`/?key=`) goes along. */
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
