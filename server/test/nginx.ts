/**
 * nginx as a test's own process, in front of masters, running the documented configuration itself
 * (docs/nginx.conf) with only its upstream addresses and listen port replaced: what the docs say is what
 * the test runs. Never the machine's nginx service: its own prefix, pid, logs and temp dirs in a temp dir.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, SERVER_DIR, waitFor, type Proc } from './helpers.ts';

/** The documented configuration. */
export const NGINX_CONF = path.resolve(SERVER_DIR, '../docs/nginx.conf');

/** The nginx binary (PATH, else /usr/sbin/nginx), or null. */
export async function findNginx(): Promise<string | null> {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    const ok = await promisify(execFile)(candidate, ['-v'], { timeout: 5000 }).then(() => true, () => false);
    if (ok) return candidate;
  }
  return null;
}

/**
 * docs/nginx.conf for masters on loopback `ports`, listening on `listen`: the upstream's first `server`
 * line is the template for one line per master, its other lines are dropped, and `listen 80;` becomes the
 * loopback port. Throws when the file no longer has that shape, so the test cannot drift from the docs.
 */
export function configFor(text: string, ports: readonly number[], listen: number): string {
  const upstream = /upstream\s+\w+\s*\{[^}]*\}/.exec(text);
  if (!upstream) throw new Error('docs/nginx.conf: no upstream block');
  const serverLine = /^(\s*)server\s+[^\s;]+:\d+([^;\n]*);[^\n]*$/gm;
  const lines = [...upstream[0].matchAll(serverLine)];
  if (lines.length === 0) throw new Error('docs/nginx.conf: no `server host:port ...;` line in the upstream');
  const [, indent, params] = lines[0]!;
  const ours = ports.map((p) => `${indent}server 127.0.0.1:${p}${params};`).join('\n');
  let block = upstream[0];
  lines.forEach((m, i) => (block = block.replace(m[0], i === 0 ? ours : '')));
  const listens = text.match(/^\s*listen 80;$/gm) ?? [];
  if (listens.length !== 1) throw new Error(`docs/nginx.conf: expected one \`listen 80;\` line, found ${listens.length}`);
  return text.replace(upstream[0], block).replace(/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${listen};`);
}

export interface NginxProc extends Proc {
  port: number;
  url: string;
  dir: string;
  /** nginx's error log so far. */
  errors(): string;
  /** Stop it (SIGKILL by default: its master process' pid, which we started) and remove its directory. */
  destroy(): Promise<void>;
}

/** Start nginx (binary `bin`) on a free loopback port in front of the masters on `ports`. */
export async function startNginx(bin: string, ports: readonly number[]): Promise<NginxProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-nginx-'));
  // Started as root, nginx's workers run as `nobody`: they must reach their temp dirs (a big job's body is
  // spooled to disk before it is passed on).
  fs.chmodSync(dir, 0o755);
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, t), { mode: 0o777 });
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.chmodSync(path.join(dir, t), 0o777);
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'barnraise.conf'), configFor(fs.readFileSync(NGINX_CONF, 'utf8'), ports, port));
  // The main file, as a distribution's nginx.conf would be, reduced to what the test needs: one worker,
  // so connection counts (least_conn) are one table, and everything nginx writes under `dir`.
  const t = (name: string) => path.join(dir, name);
  fs.writeFileSync(
    t('nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${t('nginx.pid')};`,
      `error_log ${t('error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${t('body')};`,
      `  proxy_temp_path ${t('proxy')};`,
      `  fastcgi_temp_path ${t('fastcgi')};`,
      `  uwsgi_temp_path ${t('uwsgi')};`,
      `  scgi_temp_path ${t('scgi')};`,
      `  include ${t('barnraise.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['-p', dir, '-e', t('error.log'), '-c', t('nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const errors = () => {
    try {
      return fs.readFileSync(t('error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  const proc: NginxProc = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    kill,
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    errors,
    async destroy() {
      // SIGTERM is nginx's fast shutdown: the master process ends its workers before it exits.
      await Promise.race([kill('SIGTERM'), new Promise((r) => setTimeout(r, 5000))]);
      await kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(`nginx on ${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${out}${errors()}`);
      return new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
    }, 15_000);
  } catch (err) {
    await proc.destroy();
    throw err;
  }
  return proc;
}
