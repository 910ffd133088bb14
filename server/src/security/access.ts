/**
 * Who may reach which route, decided once for the whole app (default deny). Every route is an operator
 * route, needing `Authorization: Bearer <token>`, unless the context that registers it says otherwise:
 * pages, health and swarm stats are public; WebSocket routes authenticate on the socket itself (the
 * volunteer hub by join key, the dashboard feed by its first frame), since browsers cannot set headers
 * on a WebSocket. A route added later by any plugin is therefore guarded without anyone remembering to.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { bearerChecker } from '../auth.ts';
import { ApiError } from '../errors.ts';

export const Access = {
  /** Needs the operator token. The default. */
  operator: 'operator',
  /** Anyone: pages, static files, health, site text and swarm stats. */
  public: 'public',
  /** A WebSocket route that authenticates on the socket (join key, or an auth frame). */
  socket: 'socket',
  /** GET /metrics: the operator token, or the scrape token when one is set (it opens nothing else). */
  scrape: 'scrape',
} as const;
export type Access = (typeof Access)[keyof typeof Access];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyInstance {
    /** Every route registered so far, with the access it resolved to (for audits and tests). */
    routeTable: RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  readonly access: Access;
  /** Whether the route declares a schema for what it accepts (params, query or body). */
  readonly validated: boolean;
}

function accessOf(config: unknown): Access {
  return (config as { access?: Access } | undefined)?.access ?? Access.operator;
}

/** Mark every route registered in `context` (and in plugins it registers) as `access`, unless the route says otherwise. */
export function markRoutes(context: FastifyInstance, access: Access): void {
  context.addHook('onRoute', (route) => {
    const config = (route.config ??= {}) as { access?: Access };
    config.access ??= access;
  });
}

/**
 * Install the route table and the token guard on the root instance, before any route is registered.
 * `scrapeToken` (BARNRAISE_METRICS_TOKEN), when given, opens the Access.scrape routes and nothing else.
 * `draining` is read per request: a POST during shutdown is refused with SHUTTING_DOWN.
 */
export function guardRoutes(app: FastifyInstance, token: string, scrapeToken?: string): void {
  const authorized = bearerChecker(token);
  const scraper = scrapeToken ? bearerChecker(scrapeToken) : () => false;
  const table: RouteEntry[] = [];
  app.decorate('routeTable', table);
  app.addHook('onRoute', (route) => {
    const config = (route.config ??= {}) as { access?: Access };
    if ((route as { websocket?: boolean }).websocket) config.access ??= Access.socket;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const schema = route.schema as { body?: unknown; querystring?: unknown; params?: unknown } | undefined;
    for (const method of methods) {
      // Read lazily: hooks of the registering context run after this one and may still set the access.
      table.push({
        method,
        url: route.url,
        get access() {
          return accessOf(route.config);
        },
        validated: Boolean(schema?.body ?? schema?.querystring ?? schema?.params),
      });
    }
  });
  // preParsing: after every onRequest hook (the rate limiter's are route-level, so they run after any
  // global onRequest hook, and a refused guess must still count against its address), and before the
  // body is read, so an unauthenticated request never costs a body's worth of memory.
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.is404) return payload; // nothing there to protect
    const access = accessOf(req.routeOptions.config);
    const header = req.headers.authorization;
    if (access === Access.scrape) {
      if (authorized(header) || scraper(header)) return payload;
      throw new ApiError('UNAUTHORIZED');
    }
    if (access !== Access.operator) return payload;
    if (!authorized(header)) throw new ApiError('UNAUTHORIZED');
    if (app.draining && req.method === 'POST') throw new ApiError('SHUTTING_DOWN');
    return payload;
  });
}
