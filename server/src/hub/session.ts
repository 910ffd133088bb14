/**
 * One volunteer connection: decodes every frame against the protocol schema, turns frames into scheduler
 * calls, and turns violations into a close with a defined code (rules P1-P6). Transport-agnostic: it is
 * given a socket-like object, so it is the same for every WebSocket library.
 */
import { randomBytes } from 'node:crypto';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CloseCode,
  CloseReason,
  decodeFrame,
  FrameError,
  Limits,
  PROTOCOL_VERSION,
  VolunteerMessageSchema,
  type MasterMessage,
  type MessageOf,
  type TaskOutcome,
  type VolunteerMessage,
} from '@barnraise/shared';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { jsonProblem, SMALL_JSON_CHARS } from '../security/json.ts';
import type { VolunteerPort, VolunteerState } from '../scheduler/state.ts';
import type { IdentityDesk } from '../validation/desk.ts';
import type { IdentityRecord } from '../validation/trust.ts';

const checkVolunteerMessage = TypeCompiler.Compile(VolunteerMessageSchema);
const isVolunteerMessage = (v: unknown): v is VolunteerMessage => checkVolunteerMessage.Check(v);

/** The part of a WebSocket the session uses (ws's WebSocket satisfies it). */
export interface SocketLike {
  readonly readyState: number;
  /** Bytes queued to send and not yet written (ws's `bufferedAmount`). */
  readonly bufferedAmount: number;
  send(data: string): void;
  send(data: Buffer, options: { binary: boolean }): void;
  close(code: number, reason: string): void;
  terminate(): void;
  on(event: 'message', fn: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

const OPEN = 1;

export interface SessionContext {
  scheduler: Scheduler;
  title: string;
  heartbeatMs: number;
  /** [P5] The beat of a volunteer holding no lease. */
  idleHeartbeatMs: number;
  helloTimeoutMs: number;
  /** The current swarm totals, sent right after the welcome so a new volunteer need not wait a beat. */
  swarm: () => MasterMessage;
  /** Who a volunteer is (rules V1-V5). */
  desk: IdentityDesk;
  /** The network the socket comes from (rule V6). */
  network: string;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** A day: no attempt's CPU time is reported above it (a forged `ms` must not make the totals Infinity). */
const MAX_REPORTED_MS = 86_400_000;

/**
 * [S6] Outputs the store could not keep become failed attempts with a clear error: larger than
 * `maxResultBytes`, or nested too deeply to encode (which would fail the whole group commit, every
 * volunteer's results with it). Frames shorter than SMALL_JSON_CHARS cannot hold either.
 */
export function checkedOutcomes(items: readonly TaskOutcome[], frameChars: number): TaskOutcome[] {
  return items.map((item) => {
    const ms = item.ms === undefined ? undefined : Math.min(item.ms, MAX_REPORTED_MS);
    if (item.ok && frameChars >= SMALL_JSON_CHARS) {
      const problem = jsonProblem(item.output, Limits.maxResultBytes, 'the output');
      if (problem) return { a: item.a, ok: false, error: problem, ...(ms === undefined ? {} : { ms }) };
    }
    return ms === item.ms ? item : { ...item, ms };
  });
}

/** Frames a volunteer may send while its identity is being looked up (it should send none before the welcome). */
const MAX_EARLY_FRAMES = 16;

export function startSession(socket: SocketLike, ctx: SessionContext): void {
  const { scheduler } = ctx;
  let volunteer: VolunteerState | undefined;
  let closed = false;
  /** Frames that arrived while the hello's identity was being looked up, answered once it is. */
  let early: Array<[VolunteerMessage, number]> | null = null;
  const nonce = randomBytes(18).toString('base64url');

  const port: VolunteerPort = {
    send(msg: MasterMessage) {
      if (socket.readyState === OPEN) socket.send(JSON.stringify(msg));
    },
    sendEncoded(frame: Buffer) {
      if (socket.readyState === OPEN) socket.send(frame, { binary: false });
    },
    backlog: () => socket.bufferedAmount,
    close(code, reason) {
      if (closed) return;
      closed = true;
      if (socket.readyState === OPEN) socket.close(code, reason);
      // A peer that never answers the close handshake must not hold the socket open.
      setTimeout(() => socket.terminate(), 2000).unref();
    },
  };

  const violation = (code: number, reason: string, detail: string) => {
    ctx.log.debug({ volunteer: volunteer?.id, detail }, 'closing volunteer');
    if (volunteer) scheduler.leave(volunteer);
    port.close(code, reason);
  };

  const helloTimer = setTimeout(() => violation(CloseCode.HelloTimeout, CloseReason.HelloTimeout, 'no hello'), ctx.helloTimeoutMs);
  helloTimer.unref();

  const welcome = (msg: MessageOf<VolunteerMessage, 'hello'>, identity: IdentityRecord | null) => {
    volunteer = scheduler.join(port, msg.threads, msg.agent ?? 'browser', msg.ua ?? '', msg.hidden ?? false, identity, ctx.network);
    volunteer.acks = msg.acks === true;
    port.send({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      volunteerId: volunteer.id,
      ...(identity ? { identity: identity.id } : {}),
      heartbeatMs: ctx.heartbeatMs,
      idleHeartbeatMs: ctx.idleHeartbeatMs,
      maxCredits: scheduler.maxCredits(volunteer),
      title: ctx.title,
    });
    port.send(ctx.swarm());
    volunteer.swarmAt = Date.now();
  };

  /** [V1] Check the hello's identity (a store read when the trust book does not hold it), then welcome. */
  const identify = async (msg: MessageOf<VolunteerMessage, 'hello'>) => {
    early = [];
    const admitted = await ctx.desk.admit(msg.identity!, nonce, ctx.network).catch((err: unknown) => {
      ctx.log.error({ err }, 'identity lookup failed');
      return { refuse: [CloseCode.Internal, CloseReason.Internal] as const };
    });
    if (closed) return;
    if ('refuse' in admitted) return violation(admitted.refuse[0], admitted.refuse[1], 'identity refused');
    welcome(msg, admitted.record);
    const queued = early;
    early = null;
    for (const [m, chars] of queued) if (!closed) handle(m, chars);
  };

  const onMessage = (msg: VolunteerMessage, frameChars: number) => {
    if (early) {
      if (early.length >= MAX_EARLY_FRAMES) return violation(CloseCode.ProtocolError, CloseReason.ProtocolError, 'frames before welcome');
      early.push([msg, frameChars]);
      return;
    }
    if (!volunteer) {
      if (msg.type !== 'hello') return violation(CloseCode.ProtocolError, CloseReason.ProtocolError, `${msg.type} before hello`);
      clearTimeout(helloTimer);
      if (msg.v !== PROTOCOL_VERSION) return violation(CloseCode.VersionMismatch, CloseReason.VersionMismatch, `v${msg.v}`);
      if (msg.identity) return void identify(msg);
      return welcome(msg, null);
    }
    const v = volunteer;
    scheduler.seen(v);
    switch (msg.type) {
      case 'hello':
        return violation(CloseCode.ProtocolError, CloseReason.ProtocolError, 'second hello');
      case 'want':
        return scheduler.want(v, msg.n);
      case 'pause':
        return scheduler.pause(v);
      case 'results':
        scheduler.results(v, checkedOutcomes(msg.items, frameChars), msg.want ?? 0);
        return;
      case 'progress':
        return scheduler.progress(v, msg.a, msg.p);
      case 'release':
        return scheduler.release(v, msg.attempts);
      case 'hb':
        // [P5] Not answered one by one: the swarm broadcast tells every volunteer the master lives. At
        // 10,000 volunteers a reply per beat cost a third of a core (BENCHMARKS.md, connection scale).
        return;
      case 'visibility':
        v.hidden = msg.hidden;
        return;
    }
  };

  function handle(msg: VolunteerMessage, chars: number): void {
    try {
      onMessage(msg, chars);
    } catch (err) {
      // A frame that trips a bug closes its own connection, not the master and everyone on it.
      ctx.log.error({ err, volunteer: volunteer?.id, type: msg.type }, 'failed handling a volunteer frame');
      violation(CloseCode.Internal, CloseReason.Internal, 'internal error');
    }
  }

  socket.on('message', (data, isBinary) => {
    if (closed) return;
    if (isBinary) return violation(CloseCode.ProtocolError, CloseReason.ProtocolError, 'binary frame');
    const text = data.toString();
    let msg: VolunteerMessage;
    try {
      msg = decodeFrame(text, isVolunteerMessage);
    } catch (err) {
      if (err instanceof FrameError) return violation(CloseCode.ProtocolError, CloseReason.ProtocolError, err.message);
      throw err;
    }
    handle(msg, text.length);
  });
  // [V1] The nonce a hello's identity proof signs: fresh per connection, so a proof cannot be replayed.
  port.send({ type: 'challenge', nonce });
  socket.on('close', () => {
    closed = true;
    clearTimeout(helloTimer);
    if (volunteer) scheduler.leave(volunteer);
  });
  socket.on('error', (err) => ctx.log.warn({ err: err.message, volunteer: volunteer?.id }, 'volunteer socket error'));
}
