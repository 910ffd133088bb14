/**
 * Fixtures for the volunteer page tests: a real master per test, a typed REST client for seeding jobs and
 * reading results, and the VolunteerPage page object (locators by role or dotted data-testid).
 */
import { test as base, expect, type Browser, type BrowserContext, type CDPSession, type Locator, type Page } from '@playwright/test';
import type { CreateJobBody, IdentityPage, IdentityRow, JobSummary, ResultLine, Site, Stats, TaskDetailReply, VolunteerMessage } from '@barnraise/shared';
import { Barnraise } from '@barnraise/client';
import { UnmanagedChromium } from './chromium.ts';
import { MasterProcess, type MasterOptions } from './master.ts';

/**
 * The operator's REST API on @barnraise/client (`client` for the rest of it), one try per call: the tests
 * watch the master, not the client's retries. `/metrics` is Prometheus text, not the API the client speaks:
 * plain fetch.
 */
export class Api {
  readonly client: Barnraise;
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {
    this.client = new Barnraise({ url: baseUrl, token, retries: 0 });
  }

  private get signal(): { signal: AbortSignal } {
    return { signal: AbortSignal.timeout(10_000) };
  }

  async createJob(body: CreateJobBody): Promise<JobSummary> {
    // A master's first Python job waits for its Python syntax checker to start (rule Y2): several seconds.
    const signal = AbortSignal.timeout(body.language === 'python' ? 60_000 : 10_000);
    return (await this.client.submit(body, { signal })).summary!;
  }

  /** Store `bytes` as an asset (PUT /api/assets/<sha256>, unless the master has it); resolves with the hash a job names it by. */
  putAsset(bytes: Uint8Array): Promise<string> {
    return this.client.uploadAsset(bytes, this.signal);
  }

  /** Bytes of assets the master has sent in full (barnraise_asset_bytes_sent_total). */
  async assetBytesSent(): Promise<number> {
    const res = await fetch(`${this.baseUrl}/metrics`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(10_000) });
    const m = /^barnraise_asset_bytes_sent_total (\d+)/m.exec(await res.text());
    if (!m) throw new Error('no barnraise_asset_bytes_sent_total in /metrics');
    return Number(m[1]);
  }

  /** Requeues by reason (barnraise_tasks_requeued_total): what a failing test says about leases that went back. */
  async requeueReasons(): Promise<Record<string, number>> {
    const res = await fetch(`${this.baseUrl}/metrics`, { headers: { authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(10_000) });
    const out: Record<string, number> = {};
    for (const m of (await res.text()).matchAll(/^barnraise_tasks_requeued_total\{reason="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  }

  job(id: string): Promise<JobSummary> {
    return this.client.getJob(id, this.signal);
  }

  /** One task's detail: attempts and, for a validated job, its replicas. */
  task(id: string, index: number): Promise<TaskDetailReply> {
    return this.client.getTask(id, index, this.signal);
  }

  identities(offset = 0, limit = 200): Promise<IdentityPage> {
    return this.client.listIdentities({ offset, limit, ...this.signal });
  }

  identity(id: string): Promise<IdentityRow> {
    return this.client.getIdentity(id, this.signal);
  }

  stats(): Promise<Stats> {
    return this.client.stats(this.signal);
  }

  site(): Promise<Site> {
    return this.client.getSite(this.signal);
  }

  /** Every result line of a job (ndjson) final now. */
  async results(id: string): Promise<ResultLine[]> {
    const lines: ResultLine[] = [];
    for await (const line of this.client.job(id).lines({ follow: false, ...this.signal })) lines.push(line);
    return lines;
  }

  /** Wait until the job is completed (bounded), then return its summary. */
  async waitForCompletion(id: string, timeoutMs = 60_000): Promise<JobSummary> {
    await expect
      .poll(async () => (await this.job(id)).status, { timeout: timeoutMs, intervals: [200, 300, 500], message: `job ${id} should complete` })
      .toBe('completed');
    return this.job(id);
  }
}

/** The volunteer page in one tab. */
export class VolunteerPage {
  readonly startButton: Locator;
  readonly stopButton: Locator;
  readonly resumeButton: Locator;
  readonly threads: Locator;
  readonly pauseWhenHidden: Locator;
  readonly connection: Locator;
  readonly tasksDone: Locator;
  readonly tasksFailed: Locator;
  readonly cpuTime: Locator;
  readonly currentJob: Locator;
  readonly workers: Locator;
  readonly title: Locator;
  readonly description: Locator;
  readonly swarmVolunteers: Locator;
  /** WebSocket frames this tab sent, with when (ms). */
  readonly framesSent: Array<{ at: number; payload: string }> = [];
  /** WebSockets this tab opened. */
  sockets = 0;
  /** Uncaught errors and console errors of the page, for the report when a test fails. */
  readonly errors: string[] = [];
  /** Requests this tab made for assets (`/api/assets/…`), with the bytes of each response once it is in. */
  readonly assetRequests: Array<{ url: string; status?: number; bytes?: number }> = [];

  constructor(
    readonly page: Page,
    /** Where the tab opens the page: a master, or a balancer in front of several. */
    readonly master: Pick<MasterProcess, 'url'>,
  ) {
    this.startButton = page.getByRole('button', { name: 'Start' });
    this.stopButton = page.getByRole('button', { name: 'Stop' });
    this.resumeButton = page.getByRole('button', { name: 'Resume' });
    this.threads = page.getByRole('slider', { name: 'Threads' });
    this.pauseWhenHidden = page.getByRole('checkbox', { name: 'Pause while this tab is hidden' });
    this.connection = page.getByTestId('volunteer.connection');
    this.tasksDone = page.getByTestId('volunteer.tasks-done');
    this.tasksFailed = page.getByTestId('volunteer.tasks-failed');
    this.cpuTime = page.getByTestId('volunteer.cpu-time');
    this.currentJob = page.getByTestId('volunteer.current-job');
    this.workers = page.getByTestId('volunteer.workers');
    this.title = page.getByTestId('site.title');
    this.description = page.getByTestId('site.description');
    this.swarmVolunteers = page.getByTestId('swarm.volunteers');
    page.on('pageerror', (err) => this.errors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') this.errors.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on('request', (req) => {
      if (new URL(req.url()).pathname.startsWith('/api/assets/')) this.assetRequests.push({ url: req.url() });
    });
    page.on('requestfinished', (req) => {
      const seen = this.assetRequests.find((r) => r.url === req.url() && r.bytes === undefined);
      if (!seen) return;
      // The body's size as received, not the body: reading a response's body goes through DevTools and is
      // encoded on the page's own thread, which for Pyodide's 20 MB froze the tab for seconds (long enough to
      // miss its heartbeats on a busy two-core machine).
      void Promise.all([req.response(), req.sizes()]).then(([res, sizes]) => {
        seen.status = res?.status();
        seen.bytes = sizes.responseBodySize;
      });
    });
    page.on('websocket', (ws) => {
      this.sockets++;
      ws.on('framesent', (f) => this.framesSent.push({ at: Date.now(), payload: String(f.payload) }));
    });
  }

  async goto(pathAndQuery = '/'): Promise<void> {
    await this.page.goto(new URL(pathAndQuery, this.master.url).href);
    // Generous: a first load on a busy two-core machine can be slow, and nothing here is timing-sensitive.
    await expect(this.startButton.or(this.stopButton).first()).toBeVisible({ timeout: 30_000 });
  }

  /** Press Start and wait until the master has welcomed the tab. */
  async start(): Promise<void> {
    await this.startButton.click();
    await expect(this.connection).toHaveText('connected');
  }

  /** A returning volunteer: reload the tab, press Resume (or Start), and wait until the master has welcomed it. */
  async reloadAndResume(): Promise<void> {
    await this.page.reload();
    const again = this.resumeButton.or(this.startButton).first();
    await expect(again).toBeVisible({ timeout: 30_000 });
    await again.click();
    await expect(this.connection).toHaveText('connected');
  }

  async stop(): Promise<void> {
    await this.stopButton.click();
    await expect(this.startButton).toBeVisible();
  }

  async setThreads(n: number): Promise<void> {
    await this.threads.fill(String(n));
    await expect(this.threads).toHaveValue(String(n));
  }

  /** Web Workers alive in this tab (the sandbox frame's compute workers), as Chromium reports them. */
  computeWorkers(): number {
    return this.page.workers().length;
  }

  async tasksDoneCount(): Promise<number> {
    return Number((await this.tasksDone.textContent())?.replace(/,/g, '') ?? NaN);
  }

  /** Protocol messages of one type this tab sent, decoded. */
  sent<T extends VolunteerMessage['type']>(type: T): Array<Extract<VolunteerMessage, { type: T }>> {
    return this.framesSent
      .map((f) => JSON.parse(f.payload) as VolunteerMessage)
      .filter((m): m is Extract<VolunteerMessage, { type: T }> => m.type === type);
  }
}

/** Chromium's page lifecycle, driven over CDP. */
export class Lifecycle {
  private otherTab: string | null = null;

  private constructor(
    private readonly cdp: CDPSession,
    private readonly page: Page,
  ) {}

  /** For a page opened with `openVolunteer({ freezable: true })` (see chromium.ts for why). */
  static async of(page: Page): Promise<Lifecycle> {
    const cdp = await page.context().newCDPSession(page);
    // Chromium ignores a freeze of a focused page; this session must not add focus emulation of its own.
    await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: false });
    return new Lifecycle(cdp, page);
  }

  /** Hide the tab the way a visitor does: open another tab in front of it, in the same window. */
  async hide(): Promise<void> {
    const browser = await this.page.context().browser()!.newBrowserCDPSession();
    const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank', newWindow: false, background: false });
    this.otherTab = targetId;
    await expect.poll(() => this.page.evaluate(() => document.visibilityState)).toBe('hidden');
  }

  /** Bring the tab back to the front. */
  async show(): Promise<void> {
    await this.cdp.send('Page.bringToFront');
    await expect.poll(() => this.page.evaluate(() => document.visibilityState)).toBe('visible');
  }

  freeze(): Promise<unknown> {
    return this.cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  }

  resume(): Promise<unknown> {
    return this.cdp.send('Page.setWebLifecycleState', { state: 'active' });
  }
}

interface Fixtures {
  /** Master settings for the test; override with test.use({ masterOptions }). */
  masterOptions: MasterOptions;
  master: MasterProcess;
  api: Api;
  /** Open the volunteer page in a fresh browser context (its own storage), as a separate visitor. */
  openVolunteer: (opts?: VisitorOptions) => Promise<VolunteerPage>;
}

interface VisitorOptions {
  /** Pretend the machine has this many cores (it has 2). */
  hardwareConcurrency?: number;
  viewport?: { width: number; height: number };
  /** Open the tab in a Chromium without focus emulation, so Lifecycle.freeze() really freezes it (one per test). */
  freezable?: boolean;
  /** Path and query of the page to open (default `/`), e.g. `/?key=...` for a private swarm. */
  path?: string;
}

export const test = base.extend<Fixtures>({
  masterOptions: [{ heartbeatMs: 500 }, { option: true }],
  master: async ({ masterOptions }, use, testInfo) => {
    const master = await MasterProcess.start(masterOptions);
    await use(master);
    if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('master log', { body: master.logTail(200), contentType: 'text/plain' });
    await master.dispose();
  },
  api: async ({ master }, use) => {
    await use(new Api(master.url, master.token));
  },
  openVolunteer: async ({ browser, master }, use, testInfo) => {
    const contexts: BrowserContext[] = [];
    const tabs: VolunteerPage[] = [];
    let unmanaged: UnmanagedChromium | null = null;
    await use(async (opts = {}) => {
      let page: Page;
      if (opts.freezable) {
        if (unmanaged) throw new Error('one freezable tab per test');
        unmanaged = await UnmanagedChromium.start();
        const context = unmanaged.browser.contexts()[0]!;
        page = context.pages()[0] ?? (await context.newPage());
      } else {
        const context = await newContext(browser, opts);
        contexts.push(context);
        page = await context.newPage();
      }
      const volunteer = new VolunteerPage(page, master);
      tabs.push(volunteer);
      await volunteer.goto(opts.path);
      return volunteer;
    });
    const errors = tabs.flatMap((t, k) => t.errors.map((e) => `tab ${k + 1}: ${e}`));
    if (testInfo.status !== testInfo.expectedStatus && errors.length > 0) {
      await testInfo.attach('page errors', { body: errors.join('\n'), contentType: 'text/plain' });
    }
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    await (unmanaged as UnmanagedChromium | null)?.close();
  },
});

async function newContext(browser: Browser, opts: VisitorOptions): Promise<BrowserContext> {
  const context = await browser.newContext(opts.viewport ? { viewport: opts.viewport, isMobile: true, hasTouch: true } : {});
  if (opts.hardwareConcurrency) {
    // The machine has 2 cores; pretend more so the Threads control has room to move.
    await context.addInitScript((n) => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => n }), opts.hardwareConcurrency);
  }
  return context;
}

/** Attach a screenshot of the page to the test report. */
export async function attachScreenshot(page: Page, name: string): Promise<void> {
  await test.info().attach(name, { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
}

export { expect };
