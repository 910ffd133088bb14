/**
 * Builds sandbox.html: the compute worker bundled to one classic script, inlined as a string into the
 * frame script, inlined into a page whose Content-Security-Policy allows exactly that script (by hash),
 * blob: workers and modules made inside, and WebAssembly; no network, no 'self'. Inline because the frame
 * is an opaque origin whose policy must not trust the master's origin, or job code could import from it.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { build, type Plugin } from 'vite';
import { cspMetaText, SANDBOX_HASH_FILE, sandboxPolicy, type SandboxHash } from '@barnraise/shared';

async function bundle(entry: string, define: Record<string, string> = {}): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: 'warn',
    define,
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      copyPublicDir: false,
      lib: { entry, formats: ['iife'], name: 'barnraiseSandbox', fileName: () => 'sandbox.js' },
    },
  });
  const outputs = Array.isArray(result) ? result : [result];
  for (const out of outputs) {
    if (!('output' in out)) continue;
    const chunk = out.output.find((o) => o.type === 'chunk');
    if (chunk && chunk.type === 'chunk') return chunk.code;
  }
  throw new Error(`sandbox build of ${entry} produced no code`);
}

/** sandbox.html, and the hash of its inline script that its policy (shared/src/csp.ts) allows. */
export async function buildSandboxHtml(root: string): Promise<{ html: string; scriptHash: string }> {
  const worker = await bundle(path.join(root, 'src/sandbox/worker.ts'));
  const frame = (await bundle(path.join(root, 'src/sandbox/frame.ts'), { __WORKER_SOURCE__: JSON.stringify(worker) })).replace(/<\/script/gi, '<\\/script');
  const scriptHash = createHash('sha256').update(frame, 'utf8').digest('base64');
  const csp = cspMetaText(sandboxPolicy(scriptHash));
  return {
    html: `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><title>Barnraise compute sandbox</title></head><body><script>${frame}</script></body></html>\n`,
    scriptHash,
  };
}

/** Emits sandbox.html (and its script's hash, SANDBOX_HASH_FILE) next to index.html, and serves it in `vite dev`. */
export function sandboxPage(): Plugin {
  let root = process.cwd();
  return {
    name: 'barnraise-sandbox-page',
    configResolved(config) {
      root = config.root;
    },
    async generateBundle() {
      const { html, scriptHash } = await buildSandboxHtml(root);
      this.emitFile({ type: 'asset', fileName: 'sandbox.html', source: html });
      // The master sends the same policy as a header (server/src/security/headers.ts): it needs the hash.
      this.emitFile({ type: 'asset', fileName: SANDBOX_HASH_FILE, source: `${JSON.stringify({ scriptHash } satisfies SandboxHash)}\n` });
    },
    configureServer(server) {
      server.middlewares.use('/sandbox.html', (_req, res, next) => {
        buildSandboxHtml(root).then(({ html }) => {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(html);
        }, next);
      });
    },
  };
}
