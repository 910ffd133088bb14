/** The operator dashboard as a page object, and headless workers for the dashboard tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Locator, type Page } from '@playwright/test';
import type { MasterProcess } from './master.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class DashboardPage {
  readonly tokenField: Locator;
  readonly signInButton: Locator;
  readonly loginError: Locator;
  readonly feedState: Locator;
  readonly volunteersOnline: Locator;
  readonly volunteersTotal: Locator;
  readonly events: Locator;
  readonly detailStatus: Locator;

  constructor(
    readonly page: Page,
    readonly master: MasterProcess,
  ) {
    this.tokenField = page.getByLabel('Operator token');
    this.signInButton = page.getByRole('button', { name: 'Sign in' });
    this.loginError = page.getByTestId('login.error');
    this.feedState = page.getByTestId('feed.state');
    this.volunteersOnline = page.getByTestId('swarm.volunteers');
    this.volunteersTotal = page.getByTestId('volunteers.total');
    this.events = page.getByTestId('events.list');
    this.detailStatus = page.getByTestId('detail.status');
  }

  async open(token = this.master.token): Promise<void> {
    await this.page.goto(`${this.master.url}/dashboard`);
    await this.tokenField.fill(token);
    await this.signInButton.click();
  }

  /** Sign in with the right token and wait for the live feed. */
  async signIn(): Promise<void> {
    await this.open();
    await expect(this.feedState).toHaveText('live');
  }

  /** The progress bar of a job's row in the jobs table. */
  progressOf(jobName: string): Locator {
    return this.page.getByRole('progressbar', { name: `${jobName} progress` }).first();
  }

  jobStatus(jobId: string): Locator {
    return this.page.getByTestId(`jobs.status.${jobId}`);
  }

  async openJob(jobName: string): Promise<void> {
    await this.page.getByRole('button', { name: jobName, exact: true }).click();
    await expect(this.page.getByTestId('detail')).toBeVisible();
  }
}

/** `barnraise worker` as a child process, killed by its PID. */
export class HeadlessWorker {
  private constructor(private readonly child: ChildProcess) {}

  static start(master: MasterProcess, threads = 2): HeadlessWorker {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli.ts', 'worker', '--url', master.url, '--threads', String(threads), '--quiet'], {
      cwd: repoRoot,
      stdio: 'ignore',
    });
    return new HeadlessWorker(child);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill(signal);
    await exited;
  }
}
