/**
 * The dashboard's feed client: opens the master's dashboard stream, authenticates with the first frame,
 * decodes every frame against the shared schema and hands it to the store; reconnects with the same
 * jittered backoff as volunteers. A refused token signs the operator out.
 */
import { Check } from '@sinclair/typebox/value';
import { backoffMs, DASHBOARD_PATH, decodeFrame, FeedCloseCode, FeedServerMessageSchema, type FeedClientMessage, type FeedServerMessage } from '@barnraise/shared';
import { FeedState, useDashboard } from './store.ts';

// Value's Check, not the TypeBox compiler: the dashboard's CSP forbids eval.
const isFeedMessage = (v: unknown): v is FeedServerMessage => Check(FeedServerMessageSchema, v);

export interface FeedConnection {
  /** Stream another page of the volunteers table. */
  showVolunteers(offset: number, limit: number): void;
  close(): void;
}

export function connectFeed(token: string, volunteersPageSize: number): FeedConnection {
  const store = useDashboard.getState;
  let ws: WebSocket | null = null;
  let failures = 0;
  let stopped = false;
  let page = { offset: 0, limit: volunteersPageSize };
  let retry: ReturnType<typeof setTimeout> | undefined;

  const send = (msg: FeedClientMessage) => ws?.readyState === WebSocket.OPEN && ws.send(JSON.stringify(msg));

  const open = () => {
    store().setFeedState(failures === 0 ? FeedState.connecting : FeedState.reconnecting);
    const url = new URL(DASHBOARD_PATH, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    ws = socket;
    socket.onopen = () => {
      send({ type: 'auth', token });
      if (page.offset > 0 || page.limit !== 50) send({ type: 'volunteers', ...page });
    };
    socket.onmessage = (ev) => {
      let frame: FeedServerMessage;
      try {
        frame = decodeFrame(String(ev.data), isFeedMessage);
      } catch {
        return; // a frame this page cannot read is dropped; the next delta brings the state again
      }
      if (frame.type === 'snapshot') {
        failures = 0;
        store().setFeedState(FeedState.live);
      }
      store().applyFrame(frame);
    };
    socket.onclose = (ev) => {
      if (ws !== socket) return;
      ws = null;
      if (ev.code === FeedCloseCode.Unauthorized) {
        stopped = true;
        store().signOut('The master refused this token.');
        return;
      }
      if (stopped) return;
      store().setFeedState(FeedState.reconnecting);
      retry = setTimeout(open, backoffMs(failures++));
    };
  };
  open();
  return {
    showVolunteers(offset, limit) {
      page = { offset, limit };
      send({ type: 'volunteers', offset, limit });
    },
    close() {
      stopped = true;
      clearTimeout(retry);
      ws?.close(1000, 'bye');
    },
  };
}
