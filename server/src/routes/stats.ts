/** Public routes (no token): what the volunteer page shows (site text, swarm stats) and health. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HealthSchema, SiteSchema, StatsSchema, type Site } from '@barnraise/shared';
import { Tag } from '../docs/tags.ts';

const tags = [Tag.swarm];

export const publicRoutes: FastifyPluginAsyncTypebox<Site> = async (app, site) => {
  const body: Site = { title: site.title, description: site.description, ...(site.joinKeyRequired ? { joinKeyRequired: true } : {}) };
  app.get('/api/site', { schema: { operationId: 'getSite', summary: 'The operator\'s title and description', tags, response: { 200: SiteSchema } } }, async () => body);
  app.get('/api/stats', { schema: { operationId: 'getStats', summary: 'The swarm\'s totals', tags, response: { 200: StatsSchema } } }, async () => app.cluster.stats(app.scheduler.stats()));
  app.get('/healthz', { schema: { operationId: 'getHealth', summary: 'Liveness', tags, response: { 200: HealthSchema } } }, async () => ({ ok: true, uptimeS: Math.round(process.uptime()) }));
};
