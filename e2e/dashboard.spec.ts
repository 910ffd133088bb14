/** The operator dashboard against a real master, headless workers and volunteer tabs in Chromium. */
import { DashboardPage, HeadlessWorker } from './dashboard-page.ts';
import { attachScreenshot, expect, test } from './fixtures.ts';

const slowSquare = 'export default (n) => { const end = Date.now() + 40; while (Date.now() < end); return n * n; }';

test.describe('operator dashboard', () => {
  const workers: HeadlessWorker[] = [];
  test.afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  test('a job\'s progress bar reaches 100 as headless workers finish it', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const job = await api.createJob({ name: 'squares', code: slowSquare, inputs: Array.from({ length: 150 }, (_, i) => i) });
    const bar = dash.progressOf('squares');
    await expect(bar).toHaveAttribute('aria-valuenow', '0');
    await test.step('two headless workers join and work', async () => {
      workers.push(HeadlessWorker.start(master, 2), HeadlessWorker.start(master, 2));
      await expect(dash.volunteersOnline).toHaveText('2', { timeout: 30_000 });
    });
    await test.step('mid-job, the bar is between 0 and 100', async () => {
      await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 30_000 }).toBeGreaterThan(10);
      expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
      await attachScreenshot(page, 'dashboard mid-job');
    });
    await test.step('the bar reaches 100 and the job completes', async () => {
      await expect(bar).toHaveAttribute('aria-valuenow', '100', { timeout: 60_000 });
      await expect(dash.jobStatus(job.id)).toHaveText('completed');
      expect((await api.job(job.id)).counts.done).toBe(150);
    });
  });

  test('the volunteer count follows tabs and headless workers joining and leaving', async ({ page, master, openVolunteer }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    await expect(dash.volunteersOnline).toHaveText('0');
    const worker = HeadlessWorker.start(master, 1);
    workers.push(worker);
    await expect(dash.volunteersOnline).toHaveText('1', { timeout: 30_000 });
    const tab = await openVolunteer();
    await tab.start();
    await expect(dash.volunteersOnline).toHaveText('2');
    await expect(dash.volunteersTotal).toHaveText('2');
    await worker.kill();
    await expect(dash.volunteersOnline).toHaveText('1');
    await tab.page.close();
    await expect(dash.volunteersOnline).toHaveText('0');
    await expect(dash.events).toContainText('joined');
    await expect(dash.events).toContainText('left');
  });

  test('[A2] the job detail lists the assets the job names: name, size and hash', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const bytes = new Uint8Array(3000).fill(7);
    const sha = await api.putAsset(bytes);
    await api.createJob({ name: 'with an asset', code: 'export default (n, ctx) => ctx.assets.bytes("weights.bin")[n]', inputs: [1, 2], assets: { 'weights.bin': sha } });
    await dash.openJob('with an asset');
    await expect(page.getByTestId('detail.assets')).toHaveText(`weights.bin: 2.9 KiB, sha256 ${sha.slice(0, 12)}…`);
  });

  test('a wrong token is refused', async ({ page, master }) => {
    const dash = new DashboardPage(page, master);
    await dash.open('not-the-token');
    await expect(dash.loginError).toContainText('refused');
    await expect(dash.tokenField).toBeVisible();
    await expect(page.getByTestId('swarm.volunteers')).toHaveCount(0);
  });

  test('cancel from the dashboard stops the job', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const job = await api.createJob({ name: 'long', code: slowSquare, inputs: Array.from({ length: 2000 }, (_, i) => i) });
    workers.push(HeadlessWorker.start(master, 2));
    await expect.poll(async () => (await api.job(job.id)).counts.done, { timeout: 30_000 }).toBeGreaterThan(5);
    await dash.openJob('long');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect(dash.detailStatus).toHaveText('cancelled');
    await expect(dash.jobStatus(job.id)).toHaveText('cancelled');
    const after = await api.job(job.id);
    expect(after.status).toBe('cancelled');
    expect(after.counts.leased).toBe(0);
    // Nothing more is done once cancelled.
    await page.waitForTimeout(1000);
    expect((await api.job(job.id)).counts.done).toBe(after.counts.done);
    expect(after.counts.done).toBeLessThan(2000);
  });

  test('a job submitted from the dashboard runs; bad inputs are refused inline', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    await page.getByLabel('Inputs (a JSON array: one task per element)').fill('[1, 2,');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect(page.getByTestId('submit.inputs-error')).toContainText('not valid JSON');
    await page.getByLabel('Code (an ES module; its default export runs once per input)').fill('export default (n) => n +');
    await page.getByLabel('Inputs (a JSON array: one task per element)').fill('[1, 2]');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect(page.getByTestId('submit.code-error')).toContainText('syntax error');
    await page.getByLabel('Name').fill('from the form');
    await page.getByLabel('Code (an ES module; its default export runs once per input)').fill('export default (n) => n * 3');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect(dash.detailStatus).toHaveText('queued');
    workers.push(HeadlessWorker.start(master, 1));
    await expect(dash.detailStatus).toHaveText('completed', { timeout: 30_000 });
    const id = (await api.client.listJobs({ limit: 1 })).jobs[0]!.id;
    expect(await api.results(id)).toEqual([
      { index: 0, status: 'done', output: 3 },
      { index: 1, status: 'done', output: 6 },
    ]);
  });

  test('[Y1] a Python job submitted from the dashboard runs on a headless worker; a syntax error shows its line', async ({ page, master, api }) => {
    test.setTimeout(180_000);
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const pythonLabel = 'Code (a Python module; its main(input, ctx) runs once per input)';
    await page.getByLabel('Language').selectOption('python');
    await expect(page.getByLabel(pythonLabel), 'the untouched example turns into Python').toHaveValue(/def main\(n, ctx\):/);
    await page.getByLabel(pythonLabel).fill('def main(n, ctx):\n    return n *\n');
    await page.getByLabel('Inputs (a JSON array: one task per element)').fill('[1, 2, 3]');
    await page.getByRole('button', { name: 'Submit job' }).click();
    // The master's parser (Pyodide on a thread of its own, started by this first Python job) says where.
    await expect(page.getByTestId('submit.code-error')).toContainText('line 2', { timeout: 60_000 });
    await page.getByLabel('Name').fill('cubes in python');
    await page.getByLabel(pythonLabel).fill('def main(n, ctx):\n    return {"n": n, "cube": n ** 3}\n');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect(dash.detailStatus).toHaveText('queued');
    await expect(page.getByTestId('detail.language')).toHaveText('Python');
    workers.push(HeadlessWorker.start(master, 1));
    await expect(dash.detailStatus).toHaveText('completed', { timeout: 120_000 });
    await expect(page.getByTestId('detail.code')).toContainText('"cube": n ** 3');
    const job = (await api.client.listJobs({ limit: 1 })).jobs[0]!;
    expect(job).toMatchObject({ name: 'cubes in python', language: 'python' });
    expect(await api.results(job.id)).toEqual([1, 2, 3].map((n, index) => ({ index, status: 'done', output: { n, cube: n ** 3 } })));
  });

  test('[V5] [V3] the operator bans, reinstates and vouches for an identity from the Identities section', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const worker = HeadlessWorker.start(master, 1);
    workers.push(worker);
    await expect(dash.volunteersOnline).toHaveText('1', { timeout: 30_000 });
    const id = worker.identityId();
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(dash.identityTrust(id)).toHaveText('untrusted');

    await test.step('a ban asks for confirmation, then refuses the worker for good', async () => {
      await page.getByRole('button', { name: `Ban ${id}` }).click();
      expect((await api.identity(id)).trust, 'nothing happens before the confirmation').toBe('untrusted');
      await page.getByLabel(`Reason for banning ${id}`).fill('seen cheating elsewhere');
      await page.getByRole('button', { name: `Confirm ban of ${id}` }).click();
      await expect(dash.identityTrust(id)).toHaveText('banned');
      await expect(page.getByTestId(`identities.row.${id}`)).toContainText('seen cheating elsewhere');
      await expect(dash.events.locator('.event.identity-banned')).toContainText('seen cheating elsewhere');
      await expect.poll(() => worker.exitCode, { timeout: 15_000, message: `the banned worker exits: ${worker.errorOutput()}` }).toBe(2);
      await expect(dash.volunteersOnline).toHaveText('0');
      expect(await api.identity(id)).toMatchObject({ trust: 'banned', banReason: expect.stringContaining('seen cheating elsewhere'), connections: 0 });
    });

    await test.step('reinstated it starts over untrusted; vouched for it is trusted from then on', async () => {
      await page.getByRole('button', { name: `Reinstate ${id}` }).click();
      await expect(dash.identityTrust(id)).toHaveText('untrusted');
      expect((await api.identity(id)).banReason).toBeNull();
      await page.getByRole('button', { name: `Vouch for ${id}` }).click();
      await expect(dash.identityTrust(id)).toHaveText('vouched');
      await expect(page.getByRole('button', { name: `Vouch for ${id}` })).toHaveCount(0);
      expect(await api.identity(id)).toMatchObject({ trust: 'vouched', vouched: true });
    });

    await test.step('the same identity joins again, and the volunteers table shows it vouched', async () => {
      const again = HeadlessWorker.start(master, { threads: 1, identity: worker.identityFile });
      workers.push(again);
      await expect(dash.volunteerTrust(id)).toHaveText('vouched', { timeout: 30_000 });
    });
  });

  test('[V8] a job submitted from the dashboard with strict validation shows its validation counts', async ({ page, master, api }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    await page.getByLabel('Name').fill('checked');
    await page.getByLabel('Inputs (a JSON array: one task per element)').fill('[1, 2, 3]');
    await page.getByLabel('Result validation').selectOption('strict');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await expect(page.getByTestId('detail.validation')).toContainText('strict (quorum 2');
    await expect(page.getByTestId('detail.validated')).toHaveText('0');
    await expect(page.getByTestId('detail.awaiting')).toHaveText('0');
    const job = await api.job((await api.client.listJobs({ limit: 1 })).jobs[0]!.id);
    expect(job.validation).toMatchObject({ mode: 'strict', quorum: 2, validated: 0, awaiting: 0, inconclusive: 0, replicas: 0 });
    await expect(page.getByTestId(`jobs.validation.${job.id}`)).toContainText('strict: 0 validated, 0 awaiting, 0 inconclusive');
  });
});
