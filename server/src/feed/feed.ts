/**
 * The dashboard's live stream: a token-checked WebSocket that gets one snapshot, then a compact delta every
 * FRAME_MS: swarm totals, new throughput points, only the job rows that changed, new events, and only the
 * page of volunteers the dashboard is showing. Its size does not grow with the number of volunteers, which
 * is what keeps a dashboard light with 10,000 of them online.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  DashboardPolicy,
  DASHBOARD_PATH,
  decodeFrame,
  FeedClientMessageSchema,
  FeedCloseCode,
  FeedCloseReason,
  type FeedClientMessage,
  type FeedServerMessage,
  type JobRow,
} from '@barnraise/shared';
import { bearerChecker } from '../auth.ts';
import { Tag } from '../docs/tags.ts';
import { cspHeader } from '../security/headers.ts';
import { OperatorView } from './operator.ts';
import { WEB_DIST } from '../paths.ts';

declare module 'fastify' {
  interface FastifyInstance {
    operator: OperatorView;
  }
}

export interface FeedOptions {
  token: string;
  /** Where the built pages are (web/dist by default). */
  webRoot?: string;
  /** Delta interval; "at most a few times a second". */
  frameMs?: number;
}

const checkClient = TypeCompiler.Compile(FeedClientMessageSchema);
const isClientMessage = (v: unknown): v is FeedClientMessage => checkClient.Check(v);

interface Client {
  send(msg: FeedServerMessage): void;
  page: { offset: number; limit: number };
  lastEvent: number;
  points: number[];
  /** Signature of each job row last sent, to send only rows that changed. */
  sent: Map<string, string>;
  finished: JobRow[];
}

const signature = (r: JobRow) => `${r.status}|${r.counts.queued}|${r.counts.leased}|${r.counts.done}|${r.counts.failed}|${r.requeues}|${r.tasksPerSecond}`;

export const dashboardFeed: FastifyPluginAsync<FeedOptions> = async (app, opts) => {
  const view = new OperatorView(app.scheduler, app.store, app.jobs, app.cluster, () => app.liveness.owner().master, () => app.sync.tick());
  app.decorate('operator', view);
  const authorized = bearerChecker(opts.token);
  const clients = new Set<Client>();

  // The dashboard page itself (web/dist/dashboard.html) is public: it holds no data; everything it shows
  // comes through the token (this stream and /api).
  const page = path.join(opts.webRoot ?? WEB_DIST, 'dashboard.html');
  const pageSchema = {
    operationId: 'getDashboardPage',
    summary: 'The operator dashboard (HTML; its data comes over the token)',
    tags: [Tag.pages],
    response: {
      200: { description: 'dashboard.html', content: { 'text/html': { schema: { type: 'string' } } } },
      404: { description: 'The dashboard is not built', content: { 'text/plain': { schema: { type: 'string' } } } },
    },
  };
  app.get('/dashboard', { config: { access: 'public' }, schema: pageSchema }, async (req, reply) => {
    const html = await fs.promises.readFile(page).catch(() => null);
    if (!html) return reply.code(404).type('text/plain').send('The dashboard is not built: run pnpm build.');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('content-security-policy', cspHeader(DashboardPolicy, req.raw)).send(html);
  });

  const liveRows = () => [...app.scheduler.jobs.values()].map((j) => view.jobRow(j));

  app.get(DASHBOARD_PATH, { websocket: true }, (socket) => {
    let client: Client | null = null;
    const authTimer = setTimeout(() => socket.close(FeedCloseCode.Unauthorized, FeedCloseReason.Unauthorized), 10_000);
    authTimer.unref();
    socket.on('message', async (data, isBinary) => {
      let msg: FeedClientMessage;
      try {
        if (isBinary) throw new Error('binary');
        msg = decodeFrame(data.toString(), isClientMessage);
      } catch {
        socket.close(FeedCloseCode.BadFrame, FeedCloseReason.BadFrame);
        return;
      }
      if (!client) {
        if (msg.type !== 'auth' || !authorized(`Bearer ${msg.token}`)) {
          socket.close(FeedCloseCode.Unauthorized, FeedCloseReason.Unauthorized);
          return;
        }
        clearTimeout(authTimer);
        const c: Client = {
          send: (m) => socket.readyState === 1 && socket.send(JSON.stringify(m)),
          page: { offset: 0, limit: 50 },
          lastEvent: view.events.lastSeq,
          points: [],
          sent: new Map(),
          finished: [],
        };
        client = c;
        const recent = await app.jobs.list(20);
        const live = liveRows();
        const liveIds = new Set(live.map((r) => r.id));
        const jobs = [...live, ...recent.jobs.filter((j) => !liveIds.has(j.id)).map(OperatorView.finishedRow)];
        for (const r of jobs) c.sent.set(r.id, signature(r));
        c.send({
          type: 'snapshot',
          t: app.scheduler.clock.now(),
          swarm: app.cluster.stats(app.scheduler.stats()),
          history: [...view.metrics.history],
          jobs,
          events: view.events.since(0),
          volunteers: view.volunteersPage(c.page.offset, c.page.limit),
        });
        clients.add(c);
        return;
      }
      if (msg.type === 'volunteers') {
        client.page = { offset: msg.offset, limit: msg.limit };
        client.send(delta(client));
      }
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      if (client) clients.delete(client);
    });
  });

  function delta(c: Client): FeedServerMessage {
    const jobs: JobRow[] = c.finished.splice(0);
    for (const r of jobs) c.sent.set(r.id, signature(r));
    for (const r of liveRows()) {
      const sig = signature(r);
      if (c.sent.get(r.id) === sig) continue;
      c.sent.set(r.id, sig);
      jobs.push(r);
    }
    const events = view.events.since(c.lastEvent);
    c.lastEvent = view.events.lastSeq;
    return {
      type: 'delta',
      t: app.scheduler.clock.now(),
      swarm: app.cluster.stats(app.scheduler.stats()),
      points: c.points.splice(0),
      jobs,
      events,
      volunteers: view.volunteersPage(c.page.offset, c.page.limit),
    };
  }

  // A finished job leaves memory; its final row comes from the store, once, to every dashboard.
  app.scheduler.events.on('activity', (a) => {
    if (a.kind !== 'job-finished' || clients.size === 0) return;
    // Results received before the end and still in the writer's batch (late replicas) move the job's
    // counters once committed: the row is read after them, so it is the job's last word.
    app.scheduler.writer
      .flush()
      .then(() => app.jobs.get(a.job))
      .then(
        (summary) => {
          for (const c of clients) c.finished.push(OperatorView.finishedRow(summary));
        },
        (err) => app.log.warn({ err, job: a.job }, 'finished job row unavailable'),
      );
  });

  const sampler = setInterval(() => {
    const point = view.sample();
    for (const c of clients) c.points.push(point);
  }, 1000);
  const framer = setInterval(() => {
    // [K7] The cluster's event log is read on every frame, dashboards or not: other masters' bans act here too.
    void view.pullEvents().then(
      () => {
        for (const c of clients) c.send(delta(c));
      },
      (err: unknown) => app.log.warn({ err }, 'event log unavailable'),
    );
  }, opts.frameMs ?? 500);
  app.addHook('onClose', async () => {
    clearInterval(sampler);
    clearInterval(framer);
  });
};

// Not encapsulated (what fastify-plugin does): the `operator` decoration must reach the /api routes.
Object.assign(dashboardFeed, { [Symbol.for('skip-override')]: true });
