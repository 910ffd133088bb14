/** The groups of operations in the API reference (/docs): each route's schema names one. */
export const Tag = {
  jobs: 'jobs',
  assets: 'assets',
  operator: 'operator',
  swarm: 'swarm',
  pages: 'pages',
  sockets: 'sockets',
  metrics: 'metrics',
} as const;
export type Tag = (typeof Tag)[keyof typeof Tag];

/** What each group holds, shown at its head in /docs. */
export const TAG_DESCRIPTIONS: Record<Tag, string> = {
  jobs: 'Submit jobs, follow their results (NDJSON), cancel them. Operator token.',
  assets: 'Files jobs read through ctx.assets (WebAssembly modules, shared data), stored by the SHA-256 of their bytes. Uploading needs the operator token; reading is public, as job code is to volunteers.',
  operator: 'What the dashboard shows: job detail, a task\'s attempts, volunteers, the event log; retrying failed tasks. Operator token.',
  swarm: 'What the volunteer page shows: the site text and the swarm\'s totals; health. Public.',
  pages: 'HTML pages. Public: they hold no data.',
  sockets: 'WebSocket endpoints (GET with Upgrade: websocket). They authenticate on the socket, not with a header.',
  metrics: 'Prometheus metrics. The operator token or the scrape token (BARNRAISE_METRICS_TOKEN).',
};
