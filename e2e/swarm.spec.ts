/** Three browser tabs as a swarm: a job submitted through REST completes, even when tabs close or freeze. */
import { attachScreenshot, expect, Lifecycle, test } from './fixtures.ts';

/** ~40 ms of busy CPU per task, so 300 tasks last long enough for tabs to come and go mid-run. */
const SQUARE_SLOWLY = `export default (n, ctx) => {
  const until = Date.now() + 40;
  while (Date.now() < until) {}
  ctx.progress(1);
  return { n, square: n * n };
};`;

test('three tabs complete a 300-task job exactly once per index, though one tab closes and one freezes mid-run', async ({ openVolunteer, api }) => {
  // Three tabs in two browsers, a master and 300 tasks on two cores: slow when the machine is busy.
  test.setTimeout(180_000);
  const tabs = await test.step('three visitors press Start', async () => {
    const tabs = await Promise.all([openVolunteer(), openVolunteer({ freezable: true }), openVolunteer()]);
    for (const tab of tabs) await tab.start();
    await expect.poll(async () => (await api.stats()).volunteers).toBe(3);
    return tabs;
  });
  const [closing, freezing, staying] = tabs as [(typeof tabs)[0], (typeof tabs)[0], (typeof tabs)[0]];

  const job = await test.step('the operator submits 300 tasks', () =>
    api.createJob({ name: 'squares', code: SQUARE_SLOWLY, inputs: Array.from({ length: 300 }, (_, n) => n), timeoutMs: 10_000 }),
  );

  await test.step('every tab is computing', async () => {
    for (const tab of tabs) await expect.poll(() => tab.tasksDoneCount(), { message: 'each tab completes tasks' }).toBeGreaterThan(0);
    await expect(staying.currentJob).toHaveText('squares');
  });

  let lifecycle: Lifecycle | undefined;
  await test.step('mid-run, one tab is closed and another is frozen', async () => {
    const before = await api.job(job.id);
    expect(before.counts.done, 'still mid-run').toBeLessThan(200);
    await closing.page.close();
    lifecycle = await Lifecycle.of(freezing.page);
    await lifecycle.freeze();
    // The master notices: the closed socket at once, the silent tab after 4 heartbeats (2 s here).
    await expect.poll(async () => (await api.stats()).volunteers, { timeout: 10_000 }).toBe(1);
    // Really frozen (Chromium ignores a freeze of a focused page): a live tab would beat every 500 ms.
    const sent = freezing.framesSent.length;
    await staying.page.waitForTimeout(1_500);
    expect(freezing.framesSent.length - sent, 'frames sent by the frozen tab in 1.5 s').toBe(0);
  });

  const done = await test.step('the remaining tab finishes the job', () => api.waitForCompletion(job.id, 120_000));

  await test.step('each index has exactly one correct result, and the lost leases were requeued', async () => {
    const lines = await api.results(job.id);
    expect(lines).toHaveLength(300);
    expect(new Set(lines.map((l) => l.index)).size).toBe(300);
    for (const line of lines) expect(line).toEqual({ index: line.index, status: 'done', output: { n: line.index, square: line.index * line.index } });
    expect(done.counts).toMatchObject({ done: 300, failed: 0 });
    expect(done.requeues, 'leases of the closed and frozen tabs went back to the queue').toBeGreaterThan(0);
    // ctx.progress() reached the master as progress frames.
    expect(staying.sent('progress').length).toBeGreaterThan(0);
    await attachScreenshot(staying.page, 'the tab that stayed');
  });

  await test.step('the frozen tab, thawed, finds its connection gone and joins again', async () => {
    await lifecycle!.resume();
    await expect(freezing.connection).toHaveText('connected', { timeout: 30_000 });
    await expect.poll(async () => (await api.stats()).volunteers).toBe(2);
  });
});
