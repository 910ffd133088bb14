/** The operator dashboard as a page object, and headless workers for the dashboard tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Locator, type Page } from '@playwright/test';
import { killOnExit, type MasterProcess } from './master.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The volunteers table's identity cell shows the identity short; its title holds the full id. */
const identityCell = (identity: string) => `[data-testid^="volunteers.identity."][title="${identity}"]`;

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

  /** An identity's trust in the Identities section. */
  identityTrust(identity: string): Locator {
    return this.page.getByTestId(`identities.trust.${identity}`);
  }

  /** The volunteers table's identity cell of the volunteer proving `identity` (the full id is its title). */
  volunteerWithIdentity(identity: string): Locator {
    return this.page.getByTestId('volunteers.table').locator(identityCell(identity));
  }

  /** The trust cell in the same volunteers row as `identity`. */
  volunteerTrust(identity: string): Locator {
    return this.page
      .getByTestId('volunteers.table')
      .locator('tr', { has: this.page.locator(identityCell(identity)) })
      .locator('[data-testid^="volunteers.trust."]');
  }

  async openJob(jobName: string): Promise<void> {
    await this.page.getByRole('button', { name: jobName, exact: true }).click();
    await expect(this.page.getByTestId('detail')).toBeVisible();
  }
}

export interface WorkerOptions {
  threads?: number;
  /** Its identity file; by default a new one in a temp dir of its own, so no two workers share an identity. */
  identity?: string;
  /** The operator's vouch key (the master's BARNRAISE_VOUCH_KEY): trusted from the start. */
  vouchKey?: string;
  /** More environment for the worker and its job code (worker_threads see the process's environment). */
  env?: Record<string, string>;
}

/** `barnraise worker` as a child process, killed by its PID. */
export class HeadlessWorker {
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  private readonly stderr: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    /** The identity file it was given. */
    readonly identityFile: string,
    private readonly ownDir: string | null,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (b: Buffer) => this.stderr.push(b.toString()));
  }

  static start(master: MasterProcess, threadsOrOptions: number | WorkerOptions = 2): HeadlessWorker {
    const opts = typeof threadsOrOptions === 'number' ? { threads: threadsOrOptions } : threadsOrOptions;
    const ownDir = opts.identity ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-e2e-worker-'));
    const identity = opts.identity ?? path.join(ownDir!, 'identity.json');
    // Assets beside the identity, never in the user's own ~/.barnraise.
    const cache = path.join(path.dirname(identity), 'assets');
    const args = ['--import', 'tsx', 'server/src/cli.ts', 'worker', '--url', master.url, '--threads', String(opts.threads ?? 2), '--quiet', '--identity', identity, '--cache', cache];
    if (opts.vouchKey) args.push('--vouch-key', opts.vouchKey);
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    killOnExit(child);
    return new HeadlessWorker(child, identity, ownDir);
  }

  /** Its identity id as the master derives it from the public key in its file (rule V1). */
  identityId(): string {
    const { key } = JSON.parse(fs.readFileSync(this.identityFile, 'utf8')) as { key: string };
    return `i_${createHash('sha256').update(Buffer.from(key, 'base64url')).digest('base64url').slice(0, 22)}`;
  }

  /** Its exit code so far (null while it runs or when a signal ended it). */
  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** What it wrote to stderr (why the master refused it, say). */
  errorOutput(): string {
    return this.stderr.join('');
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      await this.exited;
    }
    if (this.ownDir) fs.rmSync(this.ownDir, { recursive: true, force: true });
  }
}
