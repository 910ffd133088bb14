/** Operator routes behind the dashboard: job detail, a task's attempt history, retry, volunteers, events. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  EventListSchema,
  JobDetailSchema,
  JobParamsSchema,
  JobSummarySchema,
  PageQuerySchema,
  VolunteersQuerySchema,
  TaskDetailSchema,
  TaskParamsSchema,
  VolunteerPageSchema,
} from '@barnraise/shared';
import { Tag } from '../docs/tags.ts';
import { errorResponses } from '../errors.ts';

const tags = [Tag.operator];
const notFound = errorResponses('BAD_REQUEST', 'JOB_NOT_FOUND');

export const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const view = app.operator;

  const detailSchema = { operationId: 'getJobDetail', summary: 'A job\'s summary, code, first results and first errors', tags, params: JobParamsSchema, response: { 200: JobDetailSchema, ...notFound } };
  app.get('/jobs/:id/detail', { schema: detailSchema }, async (req) => view.detail(req.params.id));

  const taskSchema = {
    operationId: 'getTask',
    summary: 'One task: state, input, output or error, and its attempt history',
    tags,
    params: TaskParamsSchema,
    response: { 200: TaskDetailSchema, ...notFound },
  };
  app.get('/jobs/:id/tasks/:index', { schema: taskSchema }, async (req) =>
    view.task(req.params.id, req.params.index),
  );

  const retrySchema = {
    operationId: 'retryFailedTasks',
    summary: 'Put a job\'s failed tasks back in the queue',
    description: 'The job runs again until they are final; a cancelled job is 409.',
    tags,
    params: JobParamsSchema,
    response: { 200: JobSummarySchema, ...errorResponses('BAD_REQUEST', 'JOB_NOT_FOUND', 'JOB_FINISHED') },
  };
  app.post('/jobs/:id/retry-failed', { schema: retrySchema }, async (req) =>
    view.retryFailed(req.params.id),
  );

  const volunteersSchema = { operationId: 'listVolunteers', summary: 'Connected volunteers of the cluster (this master\'s first), in order of arrival', tags, querystring: VolunteersQuerySchema, response: { 200: VolunteerPageSchema, ...errorResponses('BAD_REQUEST') } };
  app.get('/volunteers', { schema: volunteersSchema }, async (req) =>
    req.query.local ? view.localVolunteers(req.query.offset ?? 0, req.query.limit ?? 50) : view.volunteersPage(req.query.offset ?? 0, req.query.limit ?? 50),
  );

  app.get('/events', { schema: { operationId: 'listEvents', summary: 'The bounded event log of the cluster', tags, response: { 200: EventListSchema } } }, async () => {
    // Whatever happened up to this request is in the log's answer (K7): this master's lines are committed first.
    await app.scheduler.writer.flush();
    await view.pullEvents();
    return { events: view.events.since(0) };
  });
};
