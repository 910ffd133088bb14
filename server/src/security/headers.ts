/**
 * Security headers on every response (helmet). The Content-Security-Policy of each page is defined once, in
 * shared/src/csp.ts; this file only sends it: the volunteer page's by default (every response, API answers
 * included), the dashboard's, the sandbox's and the docs' where those pages are served (feed/feed.ts, the
 * static files in app.ts, docs/openapi.ts). The pages also carry their policy in a `<meta>` written by the
 * web build from the same definitions; a browser enforces both, and the header adds frame-ancestors.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import { cspText, PagePolicy, SANDBOX_HASH_FILE, sandboxPolicy, type CspDirectives, type SandboxHash } from '@barnraise/shared';

/** The compute sandbox page, framed by the volunteer page in `<iframe sandbox="allow-scripts">`. */
export const SANDBOX_PAGE = 'sandbox.html';

// A Host header is the client's to choose; only a plain host[:port] may reach the policy text.
const PLAIN_HOST = /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * `policy` as the header for `req`. Where it lets the page connect to 'self', the master's own ws:// and
 * wss:// host is named too: CSP3 browsers count same-host sockets as 'self', older ones do not.
 */
export function cspHeader(policy: CspDirectives, req: IncomingMessage): string {
  const connect = policy['connect-src'];
  const host = req.headers.host ?? '';
  if (!connect?.includes("'self'") || !PLAIN_HOST.test(host)) return cspText(policy);
  return cspText({ ...policy, 'connect-src': [...connect, `ws://${host}`, `wss://${host}`] });
}

/** Register helmet, and the volunteer page's policy on every response unless the route sends its own. */
export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    // Set below: one function (cspHeader) writes every page's policy.
    contentSecurityPolicy: false,
    // HSTS belongs to whoever terminates TLS in front of the master (it binds every subdomain for a year).
    strictTransportSecurity: false,
    xFrameOptions: { action: 'sameorigin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // On the raw response, as helmet does: a route's own policy, set on the reply, takes precedence.
  app.addHook('onRequest', async (req, reply) => {
    reply.raw.setHeader('content-security-policy', cspHeader(PagePolicy, req.raw));
  });
}

/**
 * The header for sandbox.html: its policy with the hash of its inline script, which the build records
 * beside it (SANDBOX_HASH_FILE). Re-read when the page changes: a rebuild changes the hash, and a stale
 * header would block the new script. Without a recorded hash nothing in the frame may run.
 */
export function sandboxHeader(webRoot: string): (mtimeMs: number) => string {
  let cached: { mtimeMs: number; policy: string } | undefined;
  return (mtimeMs) => {
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, policy: cspText(sandboxPolicyOf(webRoot)) };
    return cached.policy;
  };
}

function sandboxPolicyOf(webRoot: string): CspDirectives {
  try {
    const { scriptHash } = JSON.parse(fs.readFileSync(path.join(webRoot, SANDBOX_HASH_FILE), 'utf8')) as SandboxHash;
    if (typeof scriptHash === 'string' && /^[A-Za-z0-9+/]+=*$/.test(scriptHash)) return sandboxPolicy(scriptHash);
  } catch {
    // a build from before the hash was recorded, or none: refuse everything below
  }
  return { 'default-src': ["'none'"], 'frame-ancestors': ["'self'"] };
}
