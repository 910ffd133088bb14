/** Operator routes behind the dashboard: job detail, attempt history, retry, volunteers, events. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

export const dashboardRoutes: FastifyPluginAsyncTypebox = async () => {};
