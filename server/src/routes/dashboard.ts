/** Operator routes behind the dashboard: job detail, a task's attempt history, retry, volunteers, events. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorBodySchema,
  EventListSchema,
  JobDetailSchema,
  JobParamsSchema,
  JobSummarySchema,
  PageQuerySchema,
  TaskDetailSchema,
  TaskParamsSchema,
  VolunteerPageSchema,
} from '@barnraise/shared';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };

export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const view = app.operator;

  app.get('/jobs/:id/detail', { schema: { params: JobParamsSchema, response: { 200: JobDetailSchema, ...errors } } }, async (req) => view.detail(req.params.id));

  app.get('/jobs/:id/tasks/:index', { schema: { params: TaskParamsSchema, response: { 200: TaskDetailSchema, ...errors } } }, async (req) =>
    view.task(req.params.id, req.params.index),
  );

  app.post('/jobs/:id/retry-failed', { schema: { params: JobParamsSchema, response: { 200: JobSummarySchema, ...errors } } }, async (req) =>
    view.retryFailed(req.params.id),
  );

  app.get('/volunteers', { schema: { querystring: PageQuerySchema, response: { 200: VolunteerPageSchema, ...errors } } }, async (req) =>
    view.volunteersPage(req.query.offset ?? 0, req.query.limit ?? 50),
  );

  app.get('/events', { schema: { response: { 200: EventListSchema, ...errors } } }, async () => ({ events: view.events.since(0) }));
};
