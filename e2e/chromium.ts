/**
 * A Chromium this test starts itself and drives over CDP, for a tab that must really freeze.
 *
 * Playwright turns on focus emulation for every page it opens (Emulation.setFocusEmulationEnabled on its
 * own CDP session), and Chromium implements that as a visible capturer on the tab: the tab stays visible
 * and focused, and Page.setWebLifecycleState('frozen') does nothing to it. The capturer belongs to
 * Playwright's session, so a second session's setFocusEmulationEnabled(false) cannot release it (tried:
 * the page kept running). Pages of the default context of a browser attached with `noDefaults: true` get
 * no focus emulation, so they freeze like a real background tab.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from '@playwright/test';
import { killOnExit } from './master.ts';

export const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export class UnmanagedChromium {
  private constructor(
    readonly browser: Browser,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    private readonly profile: string,
  ) {}

  static async start(): Promise<UnmanagedChromium> {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-chromium-'));
    // No pipes: Chromium's helper processes inherit stdio, and a pipe nobody drains can stall their
    // shutdown. The DevTools port is read from the profile's DevToolsActivePort file instead.
    const child = spawn(CHROMIUM, ['--headless', ...CHROMIUM_ARGS, '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], {
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killOnExit(child);
    try {
      const portFile = path.join(profile, 'DevToolsActivePort');
      const deadline = Date.now() + 20_000;
      let endpoint: string | undefined;
      while (!endpoint) {
        if (child.exitCode !== null) throw new Error(`chromium exited with ${child.exitCode}`);
        if (Date.now() > deadline) throw new Error('chromium wrote no DevToolsActivePort in 20 s');
        const [port, wsPath] = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').split('\n') : [];
        // Both lines, complete (the file is not written atomically).
        if (port && /^\/devtools\/browser\/[0-9a-f-]{36}$/.test(wsPath?.trim() ?? '')) endpoint = `ws://127.0.0.1:${port.trim()}${wsPath!.trim()}`;
        else await sleep(100);
      }
      const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true, timeout: 20_000 });
      return new UnmanagedChromium(browser, child, exited, profile);
    } catch (err) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
      throw err;
    }
  }

  /** Disconnect, then end the process we started, by its PID. */
  async close(): Promise<void> {
    // Bounded: the process is ended by PID below whatever the CDP connection does.
    await Promise.race([this.browser.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    const { child } = this;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    }, 5_000);
    await this.exited;
    clearTimeout(timer);
    // Chromium's helper processes go on writing the profile for a moment after the main one exits.
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        await fs.promises.rm(this.profile, { recursive: true, force: true });
        return;
      } catch {
        await sleep(250);
      }
    }
    // A temporary directory left behind is not worth failing a test over.
  }
}
