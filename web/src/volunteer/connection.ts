/** States of the tab's connection to the master, as the page shows them. */
export const ConnectionState = {
  /** Not volunteering (before Start, after Stop). */
  idle: 'idle',
  connecting: 'connecting',
  connected: 'connected',
  /** Lost the master; retrying with backoff. */
  reconnecting: 'reconnecting',
  /** The master refused this page for good (protocol version, join key). */
  failed: 'failed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];
