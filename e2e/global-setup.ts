/**
 * Before the suite: make sure Debian's Chromium is there (Playwright's own browser download cannot work on
 * these machines) and build the volunteer page the master serves, so the tests never run a stale bundle.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', timeout: 10 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export default function globalSetup(): void {
  if (!fs.existsSync(CHROMIUM)) {
    const aptGet = (args: string[]) => (process.getuid?.() === 0 ? run('apt-get', args) : run('sudo', ['apt-get', ...args]));
    console.log('e2e: installing Debian chromium');
    aptGet(['update', '-qq']);
    aptGet(['install', '-y', '-qq', 'chromium']);
  }
  if (process.env.BARNRAISE_E2E_SKIP_BUILD !== '1') run('pnpm', ['--filter', '@barnraise/web', 'build']);
  if (!fs.existsSync(path.join(root, 'web/dist/index.html')) || !fs.existsSync(path.join(root, 'web/dist/sandbox.html'))) {
    throw new Error('web/dist is missing index.html or sandbox.html after the build');
  }
}
