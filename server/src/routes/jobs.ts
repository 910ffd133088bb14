/** Operator REST routes for jobs. Schemas come from shared/; every route here requires the token. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreateJobBodySchema,
  CreateJobHeadersSchema,
  ErrorBodySchema,
  JobListQuerySchema,
  JobListSchema,
  JobParamsSchema,
  JobSummarySchema,
  ResultsQuerySchema,
} from '@barnraise/shared';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };

export interface JobRoutesOptions {
  /** Largest body of `POST /jobs` (a job carries all its inputs); other routes keep the app's small limit. */
  jobBodyLimitBytes: number;
}

export const jobRoutes: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, opts) => {
  const jobs = app.jobs;

  app.post(
    '/jobs',
    {
      bodyLimit: opts.jobBodyLimitBytes,
      schema: { headers: CreateJobHeadersSchema, body: CreateJobBodySchema, response: { 201: JobSummarySchema, ...errors, 422: ErrorBodySchema } },
    },
    async (req, reply) => {
      const created = await jobs.create(req.body, {
        idempotencyKey: req.headers['idempotency-key'],
        bodySha256: req.bodyInfo?.sha256,
        bodyChars: req.bodyInfo?.chars,
      });
      if (created.replayed) reply.header('idempotent-replayed', 'true');
      reply.code(201);
      return created.summary;
    },
  );

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
