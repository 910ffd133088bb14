/** The volunteer hub: the WebSocket endpoint, the connection cap and the periodic swarm broadcast. */
import type { FastifyPluginAsync } from 'fastify';
import { CloseCode, CloseReason, VOLUNTEER_PATH, type MasterMessage } from '@barnraise/shared';
import { startSession } from './session.ts';

export interface HubOptions {
  title: string;
  heartbeatMs: number;
  maxConnections: number;
  /** How often volunteers get swarm totals. */
  swarmEveryMs?: number;
}

export const volunteerHub: FastifyPluginAsync<HubOptions> = async (app, opts) => {
  const scheduler = app.scheduler;
  let connections = 0;

  app.get(VOLUNTEER_PATH, { websocket: true }, (socket) => {
    if (app.draining || connections >= opts.maxConnections) {
      const [code, reason] = app.draining
        ? [CloseCode.ShuttingDown, CloseReason.ShuttingDown]
        : [CloseCode.TooManyConnections, CloseReason.TooManyConnections];
      socket.close(code, reason);
      return;
    }
    connections++;
    socket.on('close', () => connections--);
    startSession(socket, {
      scheduler,
      title: opts.title,
      heartbeatMs: opts.heartbeatMs,
      helloTimeoutMs: Math.max(10_000, opts.heartbeatMs * 5),
      log: app.log,
    });
  });

  const swarm = setInterval(() => {
    if (scheduler.volunteers.size === 0) return;
    const s = scheduler.stats();
    const jobs = [...scheduler.jobs.values()]
      .filter((j) => !j.isFinished())
      .slice(0, 10)
      .map((j) => ({ id: j.id, name: j.spec.name, done: j.counts.done + j.counts.failed, total: j.spec.total }));
    const frame: MasterMessage = { type: 'swarm', volunteers: s.volunteers, threads: s.threads, tasksDone: s.tasksDone, tasksPerSecond: s.tasksPerSecond, jobs };
    for (const v of scheduler.volunteers.values()) v.port.send(frame);
  }, opts.swarmEveryMs ?? 3000);
  app.addHook('onClose', async () => clearInterval(swarm));
};
