/**
 * The master as a Fastify app: REST API, volunteer hub, static pages. Built without listening, so tests
 * load it on an ephemeral port and the entry point (server.ts) only adds `listen` and signals.
 */
import { closePythonChecker } from './python/check.ts';
import { throttled } from './log-throttle.ts';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import { createHash, randomBytes } from 'node:crypto';
import { Limits } from '@barnraise/shared';
import { AssetStore } from './assets/store.ts';
import { bearerChecker } from './auth.ts';
import type { Config } from './config.ts';
import { ApiError, ErrorCode, isDiskFull } from './errors.ts';
import { volunteerHub } from './hub/hub.ts';
import { JobsService } from './jobs/service.ts';
import { docsUi, openApi } from './docs/openapi.ts';
import { dashboardFeed } from './feed/feed.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { identityRoutes } from './routes/identities.ts';
import { MasterMetrics } from './metrics/metrics.ts';
import { metricsRoute } from './metrics/route.ts';
import { assetRoutes } from './routes/assets.ts';
import { jobRoutes } from './routes/jobs.ts';
import { publicRoutes } from './routes/stats.ts';
import { Access, guardRoutes, markRoutes } from './security/access.ts';
import { sandboxHeader, securityHeaders, SANDBOX_PAGE } from './security/headers.ts';
import { openIdempotencyKeys, type IdempotencyKeys } from './security/idempotency.ts';
import { restRateLimits } from './security/rate-limit.ts';
import { systemClock, type Clock } from './scheduler/clock.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { IdentityDesk } from './validation/desk.ts';
import { Liveness } from './cluster/liveness.ts';
import { JobSync } from './cluster/sync.ts';
import { ClusterView } from './cluster/view.ts';
import { prngOf } from './validation/random.ts';
import type { Store } from './store/store.ts';
import { WEB_DIST } from './paths.ts';

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
    jobs: JobsService;
    /** Reads the store's active jobs into this master (K7). */
    sync: JobSync;
    /** This master's beat into the store (K2). */
    liveness: Liveness;
    /** Where the other masters reach this one; set when it listens. */
    advertiseUrl: string;
    /** The other live masters (K7). */
    cluster: ClusterView;
    store: Store;
    /** Files jobs read through ctx.assets, on this master's disk (section A). */
    assets: AssetStore;
    /** True once shutdown began: no new volunteers, no new jobs. */
    draining: boolean;
  }
  interface FastifyRequest {
    /** Size of the raw JSON body, and its sha256 when an Idempotency-Key came with it. */
    bodyInfo: { chars: number; sha256?: string } | null;
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
  /** Idempotency-Key records; defaults to a SQLite file in `config.dataDir`. */
  idempotency?: IdempotencyKeys;
}

/** Body limit of every route but `POST /api/jobs` (which takes `config.bodyLimitBytes`). */
export const SMALL_BODY_LIMIT = 64 * 1024;

// Bodies are validated strictly: no type coercion (a number is not a string of code, a string is not an
// array of inputs). Query strings and params arrive as text, so they are coerced.
const strictAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false });
const coercingAjv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false });

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config, store } = opts;
  const clock = opts.clock ?? systemClock;
  const app = Fastify({
    logger: opts.logger ?? { level: config.logLevel },
    bodyLimit: Math.min(SMALL_BODY_LIMIT, config.bodyLimitBytes),
    // A hop count becomes the function proxy-addr would make of it (Fastify's types take no number).
    trustProxy: typeof config.trustProxy === 'number' ? ((hops: number) => (_address: string, hop: number) => hop < hops)(config.trustProxy) : config.trustProxy,
    // Per-request lines would drown the log under a swarm; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body is a 415, not a string that fails validation further in.
  app.removeContentTypeParser('text/plain');
  // An empty body with a JSON content type (a POST /cancel from a client that always sets the header)
  // is no body, not a parse error; anything else goes through Fastify's safe JSON parser. The body's
  // size and, with an Idempotency-Key, its hash are kept for the jobs service.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.decorateRequest('bodyInfo', null);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || body === undefined) return done(null, undefined);
    const text = body as string;
    const keyed = req.headers['idempotency-key'] !== undefined;
    req.bodyInfo = { chars: text.length, sha256: keyed ? createHash('sha256').update(text).digest('hex') : undefined };
    parseJson(req, text, done);
  });

  // [S1] Default deny: every route needs the operator token unless its context marks it otherwise.
  // Installed before any route, so routes added later by any plugin are guarded too.
  guardRoutes(app, opts.token, config.metricsToken);
  await restRateLimits(app, {
    publicPerMinute: config.rateLimitPerMinute,
    operatorPerMinute: config.operatorRateLimitPerMinute,
    authorized: bearerChecker(opts.token),
  });
  await securityHeaders(app);
  // Before any route: it describes the routes as they are added (/docs).
  await openApi(app);

  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown; validationContext?: string }, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({ statusCode: 400, code: 'BAD_REQUEST', error: 'Bad Request', message: err.message });
    }
    // A full disk refuses what would be kept with a clear answer, not a crash; nothing of it was kept.
    if (!(err instanceof ApiError) && isDiskFull(err)) err = new ApiError('STORE_FULL');
    const status = err.statusCode ?? 500;
    // Our own 5xx answers (shutting down, store full) say what they are; any other 5xx hides its details.
    if (err instanceof ApiError && status >= 500) {
      return reply.code(status).send({ statusCode: status, code: err.code, error: httpError(status), message: err.message });
    }
    if (status >= 500) {
      req.log.error({ err, url: req.url, method: req.method }, 'request failed');
      return reply.code(500).send({ statusCode: 500, code: 'INTERNAL', error: 'Internal Server Error', message: ErrorCode.INTERNAL.message });
    }
    const code = err instanceof ApiError ? err.code : (CODE_OF_STATUS[status] ?? 'BAD_REQUEST');
    return reply.code(status).send({ statusCode: status, code, error: httpError(status), message: err.message });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` }),
  );

  const metrics = new MasterMetrics();
  const master = `m_${randomBytes(6).toString('base64url')}`;
  // The scheduler, the beat and the sync refer to one another; `late` breaks the cycle.
  const late: { scheduler?: Scheduler; sync?: JobSync } = {};
  const liveness = new Liveness({
    store,
    master,
    url: () => app.advertiseUrl,
    beatMs: config.beatMs,
    ttlMs: config.claimTtlMs,
    stats: () => {
      const s = late.scheduler!.stats();
      return { volunteers: s.volunteers, threads: s.threads, tasksPerSecond: s.tasksPerSecond, tasksDone: s.tasksDone, leased: s.leased };
    },
    onLost: () => {
      app.log.error({ master }, 'lost the store: leasing and acknowledging nothing until it is back');
      late.scheduler!.abandon('master lost its database');
    },
    onRegained: () => {
      app.log.warn({ master }, 'the store is back');
      void late.sync!.tick();
    },
    onError: (err) => app.log.warn({ err }, 'beat failed'),
    exclusive: config.databaseUrl === undefined,
    afterBeat: () => {
      // [K8] The store answers again: a commit waiting out its backoff (up to 5 s) goes now.
      late.scheduler!.writer.retryNow();
      return cluster.refresh();
    },
  });
  const cluster = new ClusterView({ store, self: () => master, ttlMs: config.claimTtlMs, token: opts.token, onError: (err) => app.log.debug({ err }, 'a master did not answer') });
  app.decorate('cluster', cluster);
  const scheduler = (late.scheduler = new Scheduler({
    clock,
    store,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    idleTimeoutMs: Math.max(config.heartbeatTimeoutMs, config.idleHeartbeatMs * 4),
    commitIntervalMs: config.commitIntervalMs,
    onError: throttled((err, heldBack) => app.log.error({ err, heldBack }, 'store write failed; retrying (heldBack: how many more failed since the last line)')),
    metrics: metrics.writer,
    owner: () => liveness.owner(),
    live: () => liveness.alive(),
    ...(config.randomSeed !== undefined ? { random: prngOf(config.randomSeed) } : {}),
  }));
  const sync = (late.sync = new JobSync(scheduler, store, { everyMs: config.syncMs, live: () => liveness.alive(), onError: (err) => app.log.warn({ err }, 'job sync failed') }));
  app.decorate('sync', sync);
  // [K7] Job changes on the other masters, heard at once (PostgreSQL); the sync's period stays the fallback.
  const watch = store.watchJobs?.(
    () => sync.poke(),
    throttled((err, heldBack) => app.log.warn({ err, heldBack }, 'listening for job changes failed; connecting again')),
  );
  app.decorate('liveness', liveness);
  app.decorate('advertiseUrl', config.advertiseUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.port}`);
  app.decorate('scheduler', scheduler);
  app.decorate('store', store);
  // [A2] On this master's disk, whatever the store: in a cluster each master keeps (and is sent) its own.
  const assets = await AssetStore.open(config.dataDir, {
    maxBytes: config.assetMaxBytes,
    maxTotalBytes: config.assetMaxTotalBytes,
    // The others of a cluster, asked for an asset this master lacks.
    peers: () => cluster.peers.map((m) => m.url),
    onError: (err) => app.log.warn({ err }, 'fetching an asset from another master failed'),
  });
  app.decorate('assets', assets);
  const idempotency = opts.idempotency ?? openIdempotencyKeys(config.dataDir);
  app.decorate('jobs', new JobsService(scheduler, store, idempotency, config.validation, assets));
  app.decorate('draining', false);

  const desk = new IdentityDesk(scheduler.book, (id) => store.getIdentity(id), {
    newPerHour: config.newIdentitiesPerHour,
    newBurst: config.newIdentitiesBurst,
    vouchKey: config.vouchKey,
    now: () => clock.now(),
  });
  // [D3][K2] One master on SQLite: whatever a master before this one claimed is free at once. Several on
  // PostgreSQL: a dead one's claims are freed when its beat has lapsed (the sweep).
  await store.sweep(config.databaseUrl === undefined ? 0 : config.claimTtlMs);
  await liveness.beat();
  await sync.tick();
  liveness.start();
  sync.start();
  const ticker = setInterval(() => scheduler.tick(), Math.min(500, Math.max(50, config.heartbeatMs / 4)));
  const retention = setInterval(() => {
    const before = clock.now() - config.retentionDays * 86_400_000;
    void store.deleteFinishedBefore(before).catch((err) => app.log.error({ err }, 'retention purge failed'));
    idempotency.purgeBefore(before).catch((err: unknown) => app.log.error({ err }, 'idempotency key purge failed'));
  }, 3_600_000);
  app.addHook('onClose', async () => {
    liveness.stop();
    sync.stop();
    await watch?.close();
    clearInterval(ticker);
    clearInterval(retention);
    // [Y2] The Python syntax checker's thread, if a Python job started it.
    closePythonChecker();
    if (!opts.idempotency) await idempotency.close();
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: Limits.maxFrameBytes } });
  await app.register(volunteerHub, {
    title: config.title,
    heartbeatMs: config.heartbeatMs,
    idleHeartbeatMs: config.idleHeartbeatMs,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    connectPerSecond: config.connectPerSecond,
    connectBurst: config.connectBurst,
    joinKey: config.joinKey,
    desk,
  });
  await app.register(dashboardFeed, { token: opts.token });
  await app.register(
    async (pub) => {
      markRoutes(pub, Access.public);
      await pub.register(publicRoutes, { title: config.title, description: config.description, joinKeyRequired: config.joinKey !== undefined });
      await docsUi(pub);
    },
  );
  metrics.watch(scheduler, store, assets);
  await app.register(metricsRoute, { metrics });

  await app.register(
    async (api) => {
      await api.register(jobRoutes, { jobBodyLimitBytes: config.bodyLimitBytes });
      await api.register(assetRoutes, { assets, sent: (bytes) => metrics.assetSent(bytes) });
      await api.register(dashboardRoutes);
      await api.register(identityRoutes);
    },
    { prefix: '/api' },
  );

  const webRoot = opts.webRoot ?? WEB_DIST;
  await app.register(async (pages) => {
    markRoutes(pages, Access.public);
    if (fs.existsSync(path.join(webRoot, 'index.html'))) {
      const sandboxCsp = sandboxHeader(webRoot);
      await pages.register(fastifyStatic, {
        root: webRoot,
        prefix: '/',
        setHeaders: (reply, file, stat) => {
          if (path.basename(file) === SANDBOX_PAGE) reply.header('content-security-policy', sandboxCsp(stat.mtimeMs));
        },
      });
    } else {
      pages.get('/', { schema: { hide: true } }, async (_req, reply) =>
        reply.type('text/html').send(`<!doctype html><title>${escapeHtml(config.title)}</title><h1>${escapeHtml(config.title)}</h1><p>The volunteer page is not built: run <code>pnpm build</code>.</p>`),
      );
    }
  });
  return app;
}

const CODE_OF_STATUS: Record<number, ErrorCode> = { 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 429: 'RATE_LIMITED' };

function httpError(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 503: 'Service Unavailable', 507: 'Insufficient Storage' } as Record<number, string>
  )[status] ?? 'Error';
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
