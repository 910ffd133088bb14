/**
 * The bench's client processes (src/clients/*.ts) as plain JavaScript, built once a run (about 0.1 s) so
 * that each starts in about 0.4-0.6 s instead of 1.0-1.5 through tsx: a quick run starts about ten of them.
 * npm packages stay external (resolved from bench/node_modules); our TypeScript (the clients, the server's
 * volunteer, the workspace packages) goes in, and the compute thread the volunteers start is an entry of its
 * own beside them, where the server's src/paths.ts looks for it in a build.
 */
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_SRC, REPO_ROOT } from './proc.ts';

export const BUILT_CLIENTS_DIR = path.join(REPO_ROOT, 'bench/.build/clients');

export async function buildClients(): Promise<string> {
  const dir = path.join(BENCH_SRC, 'clients');
  const clients = fs.readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'ipc.ts');
  fs.rmSync(BUILT_CLIENTS_DIR, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: Object.fromEntries([...clients.map((f) => [f.replace(/\.ts$/, ''), path.join(dir, f)]), ['worker-thread', path.join(REPO_ROOT, 'server/src/worker/thread.ts')]]),
    outdir: BUILT_CLIENTS_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    // Where the server package is from here (its src/paths.ts), as the server's own build says it.
    define: { __BARNRAISE_SERVER_DIR__: JSON.stringify(path.relative(BUILT_CLIENTS_DIR, path.join(REPO_ROOT, 'server'))) },
    plugins: [
      {
        name: 'npm-packages-external',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@barnraise/') ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
  return BUILT_CLIENTS_DIR;
}
