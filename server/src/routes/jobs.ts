/** Operator REST routes for jobs. Schemas come from shared/; every route here requires the token. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  CreateJobBodySchema,
  CreateJobHeadersSchema,
  JobListQuerySchema,
  JobListSchema,
  JobParamsSchema,
  JobSummarySchema,
  ResultLineSchema,
  ResultsQuerySchema,
} from '@barnraise/shared';
import { Tag } from '../docs/tags.ts';
import { errorResponses } from '../errors.ts';

const tags = [Tag.jobs];

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
      schema: {
        operationId: 'createJob',
        summary: 'Submit a job',
        description:
          'Answers 201 once the job and all its inputs are durable. With `Idempotency-Key`, the same key gives back the same job (header `Idempotent-Replayed: true`), also across a crash; the same key with another body is 422. Every asset the job names must be stored on this master first (422 UNKNOWN_ASSET).',
        tags,
        headers: CreateJobHeadersSchema,
        body: CreateJobBodySchema,
        response: { 201: JobSummarySchema, ...errorResponses('BAD_REQUEST', 'BAD_CODE', 'BAD_INPUT', 'IDEMPOTENCY_KEY_REUSED', 'UNKNOWN_ASSET', 'STORE_FULL') },
      },
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

  const listSchema = { operationId: 'listJobs', summary: 'List jobs, newest first', tags, querystring: JobListQuerySchema, response: { 200: JobListSchema, ...errorResponses('BAD_REQUEST') } };
  app.get('/jobs', { schema: listSchema }, async (req) =>
    jobs.list(req.query.limit ?? 50, req.query.cursor),
  );

  const getSchema = { operationId: 'getJob', summary: 'A job\'s summary', tags, params: JobParamsSchema, response: { 200: JobSummarySchema, ...errorResponses('BAD_REQUEST', 'JOB_NOT_FOUND') } };
  app.get('/jobs/:id', { schema: getSchema }, async (req) =>
    jobs.get(req.params.id),
  );

  const cancelSchema = {
    operationId: 'cancelJob',
    summary: 'Cancel a job',
    description: 'Nothing more of it is leased; volunteers running its tasks are told to abort. A completed job is 409.',
    tags,
    params: JobParamsSchema,
    response: { 200: JobSummarySchema, ...errorResponses('BAD_REQUEST', 'JOB_NOT_FOUND', 'JOB_FINISHED') },
  };
  app.post('/jobs/:id/cancel', { schema: cancelSchema }, async (req) =>
    jobs.cancel(req.params.id),
  );

  const resultsSchema = {
    operationId: 'getJobResults',
    summary: 'A job\'s results, as NDJSON',
    description:
      'One `ResultLine` (JSON) per line, for each final task in index order. With `follow=true` it then streams each task as it becomes final and durable, in the order they finish, and ends when the job ends.',
    tags,
    params: JobParamsSchema,
    querystring: ResultsQuerySchema,
    response: {
      // A stream is sent as it is, never serialized by a schema: this one describes each line.
      200: Type.Unsafe<Readable>({ description: 'application/x-ndjson: one ResultLine per line', content: { 'application/x-ndjson': { schema: ResultLineSchema } } }),
      ...errorResponses('BAD_REQUEST', 'JOB_NOT_FOUND'),
    },
  };
  app.get('/jobs/:id/results', { schema: resultsSchema }, async (req, reply) => {
    await jobs.get(req.params.id); // 404 before any byte of the stream
    const abort = new AbortController();
    req.raw.on('close', () => abort.abort());
    reply.type('application/x-ndjson; charset=utf-8');
    return reply.send(Readable.from(jobs.results(req.params.id, req.query.follow ?? false, abort.signal)));
  });
};
