/** What a visitor does on the page: Start, Threads, Stop, Resume; and what the page survives. */
import { attachScreenshot, expect, test } from './fixtures.ts';

/** A long job of ~50 ms tasks: enough work that a tab never runs dry during a test. */
const slowJob = (name: string, count = 2000) => ({
  name,
  code: `export default (n) => { const until = Date.now() + 50; while (Date.now() < until) {} return n; };`,
  inputs: Array.from({ length: count }, (_, n) => n),
});

test.describe('with operator text', () => {
  test.use({ masterOptions: { heartbeatMs: 500, title: 'Protein folding club', description: 'Folding small proteins for the biology lab.' } });

  test('the page says what runs and who runs it, and nothing computes before Start', async ({ openVolunteer, api }) => {
    const tab = await openVolunteer();
    await expect(tab.title).toHaveText('Protein folding club');
    await expect(tab.description).toHaveText('Folding small proteins for the biology lab.');
    await expect(tab.page).toHaveTitle('Protein folding club');
    await api.createJob(slowJob('waiting job', 50));
    await expect(tab.page.getByTestId('swarm.jobs')).toHaveText(/1 job running/);

    await test.step('before Start: no socket, no worker, the master sees no volunteer', async () => {
      await tab.page.waitForTimeout(1_000);
      expect(tab.sockets).toBe(0);
      expect(tab.computeWorkers()).toBe(0);
      expect((await api.stats()).volunteers).toBe(0);
      await expect(tab.connection).toHaveText('not connected');
      await attachScreenshot(tab.page, 'before Start');
    });

    await test.step('Start connects and computes; the running job is named', async () => {
      await tab.start();
      await expect.poll(() => tab.tasksDoneCount()).toBeGreaterThan(0);
      await expect(tab.currentJob).toHaveText('waiting job');
      await expect(tab.page.getByRole('progressbar', { name: /waiting job/ })).toBeVisible();
      await expect(tab.swarmVolunteers).toHaveText('1');
      await attachScreenshot(tab.page, 'running');
    });
  });
});

test('the Threads control changes the number of Web Workers while running; Stop ends computing and the master leases the tab nothing more', async ({ openVolunteer, api }) => {
  const tab = await openVolunteer({ hardwareConcurrency: 4 });
  await test.step('threads default to half the cores', async () => {
    await expect(tab.threads).toHaveValue('2');
    await expect(tab.page.getByTestId('volunteer.threads')).toHaveText('2 of 4');
  });
  const job = await api.createJob(slowJob('long job'));
  await tab.setThreads(1);
  await tab.start();

  for (const n of [1, 4, 2, 3]) {
    await test.step(`${n} thread(s): ${n} worker(s), all of them busy`, async () => {
      await tab.setThreads(n);
      await expect.poll(() => tab.computeWorkers(), { message: `Web Workers alive with ${n} thread(s)` }).toBe(n);
      await expect(tab.workers).toHaveText(`${n} / ${n}`);
      // The master's view agrees: the tab holds at most its capacity, threads x 2.
      await expect.poll(async () => (await api.job(job.id)).counts.leased).toBeLessThanOrEqual(n * 2);
    });
  }

  await test.step('growing from 1 to 4 made the tab say hello again with 4 threads, so the master feeds them all', async () => {
    expect(tab.sent('hello').map((h) => h.threads)).toEqual([1, 4]);
    expect((await api.stats()).threads).toBe(4);
  });

  await test.step('Stop: no worker, no socket, the master leases nothing more while work is queued', async () => {
    const computing = await tab.tasksDoneCount();
    expect(computing).toBeGreaterThan(0);
    await tab.stop();
    await expect.poll(() => tab.computeWorkers()).toBe(0);
    await expect(tab.connection).toHaveText('not connected');
    await expect.poll(async () => (await api.stats()).volunteers).toBe(0);
    const after = await api.job(job.id);
    expect(after.counts.leased, 'every lease was handed back').toBe(0);
    expect(after.counts.queued, 'work is still waiting').toBeGreaterThan(0);
    const tabDone = await tab.tasksDoneCount();
    await tab.page.waitForTimeout(2_000);
    const later = await api.job(job.id);
    expect(later.counts.done, 'nothing completed after Stop').toBe(after.counts.done);
    expect(later.counts.leased).toBe(0);
    expect(await tab.tasksDoneCount()).toBe(tabDone);
  });
});

test('a returning visitor is offered Resume, which carries on with their saved threads', async ({ openVolunteer, api }) => {
  const tab = await openVolunteer({ hardwareConcurrency: 4 });
  await tab.setThreads(3);
  await tab.start();
  await api.createJob(slowJob('resumable', 200));
  await expect.poll(() => tab.tasksDoneCount()).toBeGreaterThan(0);

  await test.step('the visitor comes back later: Resume is offered, nothing runs yet', async () => {
    await tab.page.reload();
    const sockets = tab.sockets;
    await expect(tab.page.getByTestId('volunteer.resume')).toContainText('Welcome back');
    await expect(tab.resumeButton).toBeVisible();
    await expect(tab.page.getByTestId('volunteer.threads')).toHaveText('3 of 4');
    await tab.page.waitForTimeout(1_000);
    expect(tab.sockets).toBe(sockets);
    expect(tab.computeWorkers()).toBe(0);
    await attachScreenshot(tab.page, 'Resume offered');
  });

  await test.step('Resume starts with 3 workers; after Stop, Resume is no longer offered', async () => {
    await tab.resumeButton.click();
    await expect(tab.connection).toHaveText('connected');
    await expect.poll(() => tab.computeWorkers()).toBe(3);
    await tab.stop();
    await tab.page.reload();
    await expect(tab.startButton).toBeVisible();
    await expect(tab.resumeButton).toHaveCount(0);
  });
});

test('when the master goes away the page reconnects by itself and resumes work', async ({ openVolunteer, api, master }) => {
  const tab = await openVolunteer();
  await tab.start();
  const job = await api.createJob(slowJob('survives a restart', 150));
  await expect.poll(() => tab.tasksDoneCount()).toBeGreaterThan(5);

  await test.step('the master stops: the page shows it is reconnecting', async () => {
    await master.stop();
    await expect(tab.connection).toHaveText('reconnecting');
  });

  await test.step('the master returns: the page reconnects and the job completes', async () => {
    const before = await tab.tasksDoneCount();
    await master.launch();
    await expect(tab.connection).toHaveText('connected', { timeout: 30_000 });
    const done = await api.waitForCompletion(job.id, 60_000);
    expect(done.counts.done).toBe(150);
    expect(await tab.tasksDoneCount()).toBeGreaterThan(before);
  });
});

test('the page fits a phone screen', async ({ openVolunteer }) => {
  const tab = await openVolunteer({ viewport: { width: 360, height: 740 } });
  await tab.start();
  const overflow = await tab.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'no horizontal scrolling').toBeLessThanOrEqual(0);
  await expect(tab.stopButton).toBeInViewport();
  const box = await tab.stopButton.boundingBox();
  expect(box?.height ?? 0, 'a thumb-sized button').toBeGreaterThanOrEqual(44);
  await attachScreenshot(tab.page, 'phone');
});

test.describe('a private swarm', () => {
  test.use({ masterOptions: { heartbeatMs: 500, joinKey: 'orchard-42' } });

  test('a tab opened with the join key in its URL joins; without it the master refuses, the page says so and does not retry', async ({ openVolunteer, api }) => {
    await test.step('no key: refused for good', async () => {
      const outsider = await openVolunteer();
      await outsider.startButton.click();
      await expect(outsider.connection).toHaveText('refused by the master');
      await expect(outsider.page.getByTestId('volunteer.problem')).toContainText('join key');
      await expect(outsider.startButton).toBeVisible();
      await outsider.page.waitForTimeout(1_500);
      expect(outsider.sockets, 'no retry after a refusal').toBe(1);
      expect(outsider.computeWorkers()).toBe(0);
    });

    await test.step('with ?key=: joins and computes', async () => {
      const member = await openVolunteer({ path: '/?key=orchard-42' });
      await member.start();
      const job = await api.createJob({ name: 'private work', code: 'export default (n) => n + 1', inputs: [1, 2, 3] });
      await api.waitForCompletion(job.id, 30_000);
      expect((await api.results(job.id)).map((l) => (l.status === 'done' ? l.output : l.error)).sort()).toEqual([2, 3, 4]);
      expect((await api.stats()).volunteers).toBe(1);
    });
  });
});
