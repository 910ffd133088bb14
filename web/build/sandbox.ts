/**
 * Builds sandbox.html: the compute worker bundled to one classic script, inlined as a string into the
 * frame script, inlined into a page whose Content-Security-Policy allows exactly that script (by hash),
 * blob: workers and modules made inside, and WebAssembly; no network, no 'self'. Inline because the frame
 * is an opaque origin whose policy must not trust the master's origin, or job code could import from it.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { build, type Plugin } from 'vite';

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

/** The CSP of sandbox.html; `scriptHash` is the base64 sha256 of its one inline script. */
export function sandboxCsp(scriptHash: string): string {
  return [
    "default-src 'none'",
    // blob: for the workers' own script and the job modules they import; nothing from any host.
    `script-src 'sha256-${scriptHash}' blob: 'wasm-unsafe-eval'`,
    'worker-src blob:',
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export async function buildSandboxHtml(root: string): Promise<string> {
  const worker = await bundle(path.join(root, 'src/sandbox/worker.ts'));
  const frame = (await bundle(path.join(root, 'src/sandbox/frame.ts'), { __WORKER_SOURCE__: JSON.stringify(worker) })).replace(/<\/script/gi, '<\\/script');
  const hash = createHash('sha256').update(frame, 'utf8').digest('base64');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${sandboxCsp(hash)}"><title>Barnraise compute sandbox</title></head><body><script>${frame}</script></body></html>\n`;
}

/** Emits sandbox.html next to index.html, and serves it in `vite dev`. */
export function sandboxPage(): Plugin {
  let root = process.cwd();
  return {
    name: 'barnraise-sandbox-page',
    configResolved(config) {
      root = config.root;
    },
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'sandbox.html', source: await buildSandboxHtml(root) });
    },
    configureServer(server) {
      server.middlewares.use('/sandbox.html', (_req, res, next) => {
        buildSandboxHtml(root).then((html) => {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(html);
        }, next);
      });
    },
  };
}
