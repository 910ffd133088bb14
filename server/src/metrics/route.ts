/** GET /metrics: the master's metrics in Prometheus text format, for the operator token or the scrape token. */
import type { FastifyPluginAsync } from 'fastify';
import { Tag } from '../docs/tags.ts';
import { Access } from '../security/access.ts';
import type { MasterMetrics } from './metrics.ts';

export const METRICS_PATH = '/metrics';

export const metricsRoute: FastifyPluginAsync<{ metrics: MasterMetrics }> = async (app, { metrics }) => {
  app.get(
    METRICS_PATH,
    {
      config: { access: Access.scrape },
      schema: {
        operationId: 'getMetrics',
        summary: 'Metrics in Prometheus text format',
        description: 'Task counters, leases, volunteers, commit latency, event-loop lag, store queue depth (docs/metrics.md).',
        tags: [Tag.metrics],
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
