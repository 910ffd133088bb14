/** A hidden tab tells the master; with "Pause while this tab is hidden" it takes no new work meanwhile. */
import { expect, Lifecycle, test } from './fixtures.ts';

test('a hidden tab reports it and keeps computing; with "Pause while this tab is hidden" it hands back its queued leases until shown again', async ({ openVolunteer, api }) => {
  // A real hidden state needs a tab without Playwright's focus emulation (see chromium.ts).
  const tab = await openVolunteer({ freezable: true });
  const lifecycle = await Lifecycle.of(tab.page);
  await expect(tab.pauseWhenHidden).not.toBeChecked();
  await tab.start();
  const job = await api.createJob({
    name: 'steady work',
    code: `export default (n) => { const until = Date.now() + 100; while (Date.now() < until) {} return n; };`,
    inputs: Array.from({ length: 3000 }, (_, n) => n),
  });
  await expect.poll(() => tab.tasksDoneCount()).toBeGreaterThan(0);

  await test.step('hidden, option off: the master is told and the tab computes on', async () => {
    await lifecycle.hide();
    await expect.poll(() => tab.sent('visibility').at(-1)).toEqual({ type: 'visibility', hidden: true });
    const before = (await api.job(job.id)).counts.done;
    await expect.poll(async () => (await api.job(job.id)).counts.done, { message: 'work goes on while hidden' }).toBeGreaterThan(before + 3);
  });

  await test.step('hidden, option on: credits taken back, queued leases released, nothing new leased', async () => {
    // The visitor comes back to tick the option (a hidden page takes no clicks), then leaves again.
    await lifecycle.show();
    await tab.pauseWhenHidden.check();
    expect(tab.sent('pause'), 'visible: no pause yet').toHaveLength(0);
    await lifecycle.hide();
    await expect.poll(() => tab.sent('pause').length).toBeGreaterThan(0);
    // A waiting lease goes back (release) and what runs finishes; nothing replaces them. Whether a lease was
    // waiting at that instant is a matter of timing, so the master's count is what is checked.
    await expect.poll(async () => (await api.job(job.id)).counts.leased, { timeout: 10_000 }).toBe(0);
    // A lease ends when its result arrives; the result counts as done once its commit is durable, a group
    // commit later. So the count is read once it has stood still for half a second.
    let paused = -1;
    await expect.poll(async () => {
      const before = (await api.job(job.id)).counts.done;
      await tab.page.waitForTimeout(500);
      paused = (await api.job(job.id)).counts.done;
      return paused === before;
    }, { message: 'the last results were committed', timeout: 10_000 }).toBe(true);
    await tab.page.waitForTimeout(1_500);
    expect((await api.job(job.id)).counts.done, 'no work while hidden and paused').toBe(paused);
    await expect(tab.connection).toHaveText('connected');
  });

  await test.step('shown again: the master is told and work resumes', async () => {
    await lifecycle.show();
    await expect.poll(() => tab.sent('visibility').at(-1)).toEqual({ type: 'visibility', hidden: false });
    const resumed = (await api.job(job.id)).counts.done;
    await expect.poll(async () => (await api.job(job.id)).counts.done).toBeGreaterThan(resumed + 3);
  });
});
