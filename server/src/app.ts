/**
 * The master as a Fastify app: REST API, volunteer hub, static pages. Built without listening, so tests
 * load it on an ephemeral port and the entry point (server.ts) only adds `listen` and signals.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import { Limits } from '@barnraise/shared';
import { bearerChecker } from './auth.ts';
import type { Config } from './config.ts';
import { ApiError, ErrorCode } from './errors.ts';
import { volunteerHub } from './hub/hub.ts';
import { JobsService } from './jobs/service.ts';
import { dashboardFeed } from './feed/feed.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { jobRoutes } from './routes/jobs.ts';
import { publicRoutes } from './routes/stats.ts';
import { systemClock, type Clock } from './scheduler/clock.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import type { Store } from './store/store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
    jobs: JobsService;
    store: Store;
    /** True once shutdown began: no new volunteers, no new jobs. */
    draining: boolean;
  }
}

export interface AppOptions {
  config: Config;
  store: Store;
  token: string;
  clock?: Clock;
  /** Built volunteer page; defaults to web/dist. */
  webRoot?: string;
  logger?: FastifyServerOptions['logger'];
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WEB_ROOT = path.resolve(here, '../../web/dist');

// Bodies are validated strictly: no type coercion (a number is not a string of code, a string is not an
// array of inputs). Query strings and params arrive as text, so they are coerced.
const strictAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false });
const coercingAjv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false });

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, store } = opts;
  const clock = opts.clock ?? systemClock;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // Per-request lines would drown the log under a swarm; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // An empty body with a JSON content type (a POST /cancel from a client that always sets the header)
  // is no body, not a parse error; anything else goes through Fastify's safe JSON parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    parseJson(req, body as string, done);
  });

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown; validationContext?: string }, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({ statusCode: 400, code: 'BAD_REQUEST', error: 'Bad Request', message: err.message });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err, url: req.url, method: req.method }, 'request failed');
      return reply.code(500).send({ statusCode: 500, code: 'INTERNAL', error: 'Internal Server Error', message: ErrorCode.INTERNAL.message });
    }
    const code = err instanceof ApiError ? err.code : status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    return reply.code(status).send({ statusCode: status, code, error: httpError(status), message: err.message });
  });

  const scheduler = new Scheduler({
    clock,
    store,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    commitIntervalMs: config.commitIntervalMs,
    onError: (err) => app.log.error({ err }, 'store commit failed; retrying'),
  });
  app.decorate('scheduler', scheduler);
  app.decorate('store', store);
  app.decorate('jobs', new JobsService(scheduler, store));
  app.decorate('draining', false);

  scheduler.recover(await store.loadUnfinished());
  const ticker = setInterval(() => scheduler.tick(), Math.min(500, Math.max(50, config.heartbeatMs / 4)));
  const retention = setInterval(
    () => void store.deleteFinishedBefore(clock.now() - config.retentionDays * 86_400_000).catch((err) => app.log.error({ err }, 'retention purge failed')),
    3_600_000,
  );
  app.addHook('onClose', async () => {
    clearInterval(ticker);
    clearInterval(retention);
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: Limits.maxFrameBytes } });
  await app.register(volunteerHub, { title: config.title, heartbeatMs: config.heartbeatMs, maxConnections: config.maxConnections });
  await app.register(dashboardFeed, { token: opts.token });
  await app.register(publicRoutes, { title: config.title, description: config.description });

  const authorized = bearerChecker(opts.token);
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (req) => {
        if (!authorized(req.headers.authorization)) throw new ApiError('UNAUTHORIZED');
        if (app.draining && req.method === 'POST') throw new ApiError('SHUTTING_DOWN');
      });
      await api.register(jobRoutes);
      await api.register(dashboardRoutes);
    },
    { prefix: '/api' },
  );

  const webRoot = opts.webRoot ?? DEFAULT_WEB_ROOT;
  if (fs.existsSync(path.join(webRoot, 'index.html'))) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/' });
  } else {
    app.get('/', async (_req, reply) =>
      reply.type('text/html').send(`<!doctype html><title>${escapeHtml(config.title)}</title><h1>${escapeHtml(config.title)}</h1><p>The volunteer page is not built: run <code>pnpm build</code>.</p>`),
    );
  }
  return app;
}

function httpError(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests', 503: 'Service Unavailable' } as Record<number, string>
  )[status] ?? 'Error';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
