/**
 * The volunteer hub: the WebSocket endpoint, who may join (join key, per-address admission, total cap),
 * and the periodic swarm broadcast.
 */
import type { FastifyPluginAsync } from 'fastify';
import { CloseCode, CloseReason, JOIN_KEY_PARAM, VOLUNTEER_PATH, type MasterMessage } from '@barnraise/shared';
import { secretChecker } from '../auth.ts';
import { Access } from '../security/access.ts';
import { AddressAdmission } from '../security/buckets.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { IdentityDesk } from '../validation/desk.ts';
import { networkOf } from '../validation/network.ts';
import type { ClusterView } from '../cluster/view.ts';
import { startSession } from './session.ts';

export interface HubOptions {
  title: string;
  heartbeatMs: number;
  /** [P5] The beat of volunteers holding no lease (absent: heartbeatMs). */
  idleHeartbeatMs?: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  connectPerSecond: number;
  connectBurst: number;
  /** When set, a volunteer must connect with `?key=<joinKey>`. */
  joinKey?: string;
  /** How often volunteers get swarm totals; by default often enough to be the master's heartbeat (P5). */
  swarmEveryMs?: number;
  /** Who volunteers are (section V). */
  desk: IdentityDesk;
}

type Refusal = readonly [code: number, reason: string];

/**
 * [P5] The swarm frame doubles as the master's heartbeat: every volunteer hears from the master at least
 * every 1.5 beats, well inside the 4 beats after which a volunteer gives the master up.
 */
export function swarmInterval(heartbeatMs: number): number {
  return Math.min(3000, Math.round(heartbeatMs * 1.5));
}

/** [P5] Volunteers holding no lease hear from the master every half of their (slow) beat. */
export function idleSwarmInterval(idleHeartbeatMs: number): number {
  return Math.round(idleHeartbeatMs / 2);
}

/** The swarm totals every volunteer sees (public: no inputs, no code, no addresses). */
export function swarmFrame(scheduler: Scheduler, cluster?: ClusterView): Extract<MasterMessage, { type: 'swarm' }> {
  const s = cluster ? cluster.stats(scheduler.stats()) : scheduler.stats();
  const jobs = [...scheduler.jobs.values()]
    .filter((j) => !j.isFinished())
    .slice(0, 10)
    .map((j) => ({ id: j.id, name: j.spec.name, done: j.counts.done + j.counts.failed, total: j.spec.total }));
  return { type: 'swarm', volunteers: s.volunteers, threads: s.threads, tasksDone: s.tasksDone, tasksPerSecond: s.tasksPerSecond, jobs };
}

export const volunteerHub: FastifyPluginAsync<HubOptions> = async (app, opts) => {
  const scheduler = app.scheduler;
  const admission = new AddressAdmission({ perSecond: opts.connectPerSecond, burst: opts.connectBurst, maxOpen: opts.maxConnectionsPerAddress });
  const keyMatches = opts.joinKey === undefined ? () => true : secretChecker(opts.joinKey);
  let connections = 0;

  app.get(
    VOLUNTEER_PATH,
    // [S2] The socket checks its own admission and key; the REST limiter would answer an upgrade with an
    // HTTP 429 that a browser only sees as 1006, where these close codes tell it what to do.
    { websocket: true, config: { access: Access.socket, rateLimit: false } },
    (socket, req) => {
      const address = req.ip;
      const refuse = ([code, reason]: Refusal) => socket.close(code, reason);
      if (app.draining) return refuse([CloseCode.ShuttingDown, CloseReason.ShuttingDown]);
      if (connections >= opts.maxConnections) return refuse([CloseCode.TooManyConnections, CloseReason.TooManyConnections]);
      const admitted = admission.admit(address);
      if (admitted === 'cap') return refuse([CloseCode.TooManyConnections, CloseReason.TooManyConnections]);
      if (admitted === 'rate') return refuse([CloseCode.RateLimited, CloseReason.RateLimited]);
      connections++;
      socket.on('close', () => {
        connections--;
        admission.release(address);
      });
      // [S3] After admission, so guessing keys spends the guesser's connection budget.
      const key = (req.query as Record<string, unknown> | undefined)?.[JOIN_KEY_PARAM];
      if (!keyMatches(typeof key === 'string' ? key : undefined)) return refuse([CloseCode.Forbidden, CloseReason.Forbidden]);
      startSession(socket, {
        scheduler,
        title: opts.title,
        heartbeatMs: opts.heartbeatMs,
        idleHeartbeatMs: opts.idleHeartbeatMs ?? opts.heartbeatMs,
        helloTimeoutMs: Math.max(10_000, opts.heartbeatMs * 5),
        swarm: () => swarmFrame(scheduler, app.cluster),
        desk: opts.desk,
        network: networkOf(address),
        log: app.log,
      });
    },
  );

  const sweep = setInterval(() => {
    admission.sweep();
    opts.desk.sweep();
  }, 60_000);
  const idleEvery = Math.max(swarmInterval(opts.heartbeatMs), idleSwarmInterval(opts.idleHeartbeatMs ?? opts.heartbeatMs));
  const swarm = setInterval(() => {
    if (scheduler.volunteers.size === 0) return;
    // Encoded once for everyone, not once per volunteer. A volunteer holding no lease beats slowly and is
    // answered as slowly (P5): at 10,000 idle tabs, these frames were most of what idling cost the master.
    let encoded: Buffer | undefined;
    const now = Date.now();
    for (const v of scheduler.volunteers.values()) {
      if (v.attempts.size === 0 && now - v.swarmAt < idleEvery - 50) continue;
      encoded ??= Buffer.from(JSON.stringify(swarmFrame(scheduler, app.cluster)));
      v.port.sendEncoded(encoded);
      v.swarmAt = now;
    }
  }, opts.swarmEveryMs ?? swarmInterval(opts.heartbeatMs));
  app.addHook('onClose', async () => {
    clearInterval(swarm);
    clearInterval(sweep);
  });
};
