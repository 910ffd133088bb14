/**
 * Security headers on every response (helmet), with a Content-Security-Policy fitted to the volunteer
 * page: its own scripts and styles only, sockets and fetches to this master only, frames only from
 * itself (the compute sandbox), and nobody else may frame it (frame-ancestors, X-Frame-Options), so a
 * hostile site cannot overlay the page's Start button or run a swarm inside its own page.
 *
 * The page and sandbox.html also carry their policies in a <meta> tag (web/); a browser enforces both,
 * so the header can only narrow them, and it adds what a <meta> cannot say (frame-ancestors).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';

/** The compute sandbox page, framed by the volunteer page in `<iframe sandbox="allow-scripts">`. */
export const SANDBOX_PAGE = 'sandbox.html';

// A Host header is the client's to choose; only a plain host[:port] may reach the policy text.
const PLAIN_HOST = /^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function socketSources(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  return PLAIN_HOST.test(host) ? `ws://${host} wss://${host}` : "'self'";
}

/** Register helmet with the page's policy. */
export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // 'self' covers same-host ws: in CSP3 browsers; the explicit ws(s)://host covers the rest.
        connectSrc: ["'self'", (req) => socketSources(req as IncomingMessage)],
        frameSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'self'"],
      },
    },
    // HSTS belongs to whoever terminates TLS in front of the master (it binds every subdomain for a year).
    strictTransportSecurity: false,
    xFrameOptions: { action: 'sameorigin' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * The header policy for sandbox.html: the one its own <meta> declares (an inline script allowed by hash,
 * blob: workers, no network), plus frame-ancestors. The page policy above would forbid its inline script.
 * Re-read when the file changes: a rebuild changes the script's hash, and a stale header would then block
 * the new script (a browser enforces both policies).
 */
export function sandboxPolicy(webRoot: string): (mtimeMs: number) => string {
  let cached: { mtimeMs: number; policy: string } | undefined;
  return (mtimeMs) => {
    if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, policy: readSandboxPolicy(webRoot) };
    return cached.policy;
  };
}

function readSandboxPolicy(webRoot: string): string {
  let meta: string | undefined;
  try {
    const html = fs.readFileSync(path.join(webRoot, SANDBOX_PAGE), 'utf8');
    meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html)?.[1];
  } catch {
    // not built: the file is not served either
  }
  return [meta?.replace(/;\s*$/, ''), "frame-ancestors 'self'"].filter(Boolean).join('; ');
}
