/**
 * The Content-Security-Policy of every page the master serves, defined once. The master sends each as a
 * header (server/src/security/headers.ts); the pages built by web/ also carry theirs in a `<meta>` written
 * at build time from these same definitions (web/build/csp.ts, web/build/sandbox.ts). A browser enforces
 * both, so the two can never disagree into a hole, and the header adds what a `<meta>` cannot say
 * (frame-ancestors).
 *
 * The compute sandbox needs its `<meta>`: it is framed as an opaque origin, and its policy must not trust
 * the master's origin (no 'self'), or job code could import from it.
 */

/** A policy: directive name to its sources, e.g. `{ 'script-src': ["'self'"] }`. */
export type CspDirectives = Readonly<Record<string, readonly string[]>>;

// Each policy is written out in full: a shared spread would keep them all in the page's bundle (a spread
// is not tree-shaken), where none of them is used.

/**
 * The volunteer page (index.html): its own bundle only, no eval (frames are checked with TypeBox's
 * Value.Check, not its compiler), no inline script, sockets and fetches to its own master only, frames
 * only from itself (the compute sandbox), no workers of its own (they live in the sandbox), and nobody else
 * may frame it, so a hostile site cannot overlay its Start button or run a swarm inside its own page. No
 * page of the master needs plugins, a <base> that would redirect relative URLs, or form posts.
 */
export const PagePolicy: CspDirectives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-src': ["'self'"],
  'worker-src': ["'none'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'self'"],
};

/** The operator dashboard (dashboard.html): like the page, images from data: for the QR code, no frames. */
export const DashboardPolicy: CspDirectives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-src': ["'none'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'self'"],
};

/**
 * The compute sandbox (sandbox.html): exactly its one inline script (by hash, `scriptHash` being the base64
 * sha256 of its text), blob: workers and the job modules they import, WebAssembly; no network and no
 * 'self'. Framed only by the volunteer page.
 */
export function sandboxPolicy(scriptHash: string): CspDirectives {
  return {
    'default-src': ["'none'"],
    'script-src': [`'sha256-${scriptHash}'`, 'blob:', "'wasm-unsafe-eval'"],
    'worker-src': ['blob:'],
    'connect-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'self'"],
  };
}

/**
 * The API reference (/docs, swagger-ui): its own scripts and styles, the document fetched from this master;
 * images from data: (swagger-ui's icons). The "Try it out" calls go to this master only.
 */
export const DocsPolicy: CspDirectives = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  // swagger-ui (swagger-ui-dist 5.34, in @fastify/swagger-ui 6.1) inserts one constant <style> element: it is
  // allowed by its hash, nothing else inline. A new version that changes it fails e2e/docs.spec.ts.
  'style-src': ["'self'", "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'frame-src': ["'none'"],
  'worker-src': ["'none'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'self'"],
};

// Directives a <meta> policy may not carry (CSP3 §3.3: ignored there, with a console warning).
const HEADER_ONLY = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

/** The policy as the text of a Content-Security-Policy header. */
export function cspText(policy: CspDirectives): string {
  return Object.entries(policy)
    .map(([name, sources]) => (sources.length > 0 ? `${name} ${sources.join(' ')}` : name))
    .join('; ');
}

/** The policy as the content of a `<meta http-equiv="Content-Security-Policy">`: without the header-only directives. */
export function cspMetaText(policy: CspDirectives): string {
  return cspText(Object.fromEntries(Object.entries(policy).filter(([name]) => !HEADER_ONLY.has(name))));
}

/** The file beside sandbox.html in which the build records its inline script's hash, for the header. */
export const SANDBOX_HASH_FILE = 'sandbox.sha256.json';

/** Contents of SANDBOX_HASH_FILE. */
export interface SandboxHash {
  /** Base64 sha256 of sandbox.html's one inline script. */
  scriptHash: string;
}
