/** Operator REST routes for jobs. Schemas come from shared/; every route here requires the token. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreateJobBodySchema,
  ErrorBodySchema,
  JobListQuerySchema,
  JobListSchema,
  JobParamsSchema,
  JobSummarySchema,
  ResultsQuerySchema,
} from '@barnraise/shared';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };

export const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const jobs = app.jobs;

  app.post('/jobs', { schema: { body: CreateJobBodySchema, response: { 201: JobSummarySchema, ...errors } } }, async (req, reply) => {
    reply.code(201);
    return jobs.create(req.body);
  });

  app.get('/jobs', { schema: { querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errors } } }, async (req) =>
    jobs.list(req.query.limit ?? 50, req.query.cursor),
  );

  app.get('/jobs/:id', { schema: { params: JobParamsSchema, response: { 200: JobSummarySchema, ...errors } } }, async (req) =>
    jobs.get(req.params.id),
  );

  app.post('/jobs/:id/cancel', { schema: { params: JobParamsSchema, response: { 200: JobSummarySchema, ...errors } } }, async (req) =>
    jobs.cancel(req.params.id),
  );

  app.get('/jobs/:id/results', { schema: { params: JobParamsSchema, querystring: ResultsQuerySchema } }, async (req, reply) => {
    await jobs.get(req.params.id); // 404 before any byte of the stream
    const abort = new AbortController();
    req.raw.on('close', () => abort.abort());
    reply.type('application/x-ndjson; charset=utf-8');
    return reply.send(Readable.from(jobs.results(req.params.id, req.query.follow ?? false, abort.signal)));
  });
};
