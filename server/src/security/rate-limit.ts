/**
 * [S8] Per-address REST rate limits (@fastify/rate-limit). Requests with a valid operator token count in
 * their own bucket with a higher ceiling, so a swarm (or a flood) behind the operator's address cannot lock
 * the operator out; failed token guesses count as public traffic.
 */
import type { FastifyInstance } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import { ApiError } from '../errors.ts';

export interface RateLimitOptions {
  /** Requests per minute per address without a valid token. */
  publicPerMinute: number;
  /** Requests per minute per address with a valid token. */
  operatorPerMinute: number;
  authorized(header: string | undefined): boolean;
}

/** Register on the root instance before any route: the limiter attaches itself to routes as they are added. */
export async function restRateLimits(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: true,
    timeWindow: 60_000,
    keyGenerator: (req) => (opts.authorized(req.headers.authorization) ? `op:${req.ip}` : req.ip),
    max: (_req, key) => (key.startsWith('op:') ? opts.operatorPerMinute : opts.publicPerMinute),
    errorResponseBuilder: (_req, ctx) => new ApiError('RATE_LIMITED', `too many requests from this address; retry in ${ctx.after}`),
  });
}
