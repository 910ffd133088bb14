/**
 * Result validation end to end (SPEC.md section V): two browser tabs, honest headless workers and headless
 * workers that lie, on a real master; the operator watches from the dashboard.
 */
import type { ValidationMode } from '@barnraise/shared';
import { DashboardPage, HeadlessWorker } from './dashboard-page.ts';
import { attachScreenshot, expect, test, type VolunteerPage } from './fixtures.ts';

const VOUCH_KEY = `e2e-vouch-${Math.random().toString(36).slice(2)}`;

/**
 * Squares, ~5 ms each so the work spreads over the swarm; a worker whose environment has BARNRAISE_E2E_LIE
 * answers -1 - n instead (every liar the same wrong answer: colluders). Browsers have no `process`.
 */
const SQUARE_OR_LIE = `export default (n) => {
  const until = Date.now() + 5;
  while (Date.now() < until) {}
  return typeof process !== 'undefined' && process.env.BARNRAISE_E2E_LIE ? -1 - n : n * n;
};`;
const TASKS = 200;
/** Exit code of a worker the master refused for good (rule S3's, and a banned identity's). */
const REFUSED = 2;

test.use({ masterOptions: { heartbeatMs: 500, env: { BARNRAISE_VOUCH_KEY: VOUCH_KEY } } });

test.describe('result validation', () => {
  const workers: HeadlessWorker[] = [];
  test.afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.kill()));
  });

  for (const mode of ['adaptive', 'strict'] as const satisfies readonly ValidationMode[]) {
    const rule = mode === 'adaptive' ? '[V9]' : '[V8]';
    test(`${rule} [V5] ${mode}: tabs and honest workers outvote colluding liars; every result is right, the liars are banned and refused, the dashboard shows it`, async ({ page, master, api, openVolunteer }) => {
      test.setTimeout(90_000);
      const dash = new DashboardPage(page, master);
      await dash.signIn();

      const { liars } = await test.step('the swarm joins: an anchor, an honest worker, two liars, two tabs', async () => {
        // The anchor that lets trust form at once: the operator's own worker, vouched with the master's
        // BARNRAISE_VOUCH_KEY (rule V3). No operator `checks` in the job: liars are caught disagreeing with
        // results the anchor settles (V5) or failing them re-issued as known answers (V4), and honest
        // volunteers earn trust by agreeing with it.
        const anchor = HeadlessWorker.start(master, { threads: 1, vouchKey: VOUCH_KEY });
        const honest = HeadlessWorker.start(master, { threads: 1 });
        const liars = [0, 1].map(() => HeadlessWorker.start(master, { threads: 1, env: { BARNRAISE_E2E_LIE: '1' } }));
        workers.push(anchor, honest, ...liars);
        const tabs: VolunteerPage[] = [];
        for (let k = 0; k < 2; k++) {
          const tab = await openVolunteer();
          await tab.setThreads(1);
          await tab.start();
          tabs.push(tab);
        }
        await expect.poll(async () => (await api.stats()).volunteers, { timeout: 30_000, message: 'six volunteers online' }).toBe(6);
        for (const w of [anchor, ...liars]) await expect(dash.volunteerWithIdentity(w.identityId())).toBeVisible();
        await expect(dash.volunteerTrust(anchor.identityId())).toHaveText('vouched');
        for (const liar of liars) await expect(dash.volunteerTrust(liar.identityId())).toHaveText('untrusted');
        return { liars };
      });

      const job = await test.step(`the operator submits ${TASKS} tasks with validation ${mode}`, () =>
        api.createJob({ name: `squares-${mode}`, code: SQUARE_OR_LIE, inputs: Array.from({ length: TASKS }, (_, n) => n), timeoutMs: 10_000, validation: { mode } }),
      );
      expect(job.validation?.mode).toBe(mode);

      const done = await test.step('the job completes and every result is right', async () => {
        const done = await api.waitForCompletion(job.id, 60_000);
        const lines = await api.results(job.id);
        expect(lines).toHaveLength(TASKS);
        for (const line of lines) expect(line).toEqual({ index: line.index, status: 'done', output: line.index * line.index });
        expect(done.counts).toMatchObject({ done: TASKS, failed: 0 });
        expect(done.validation).toMatchObject({ mode, validated: TASKS, awaiting: 0, inconclusive: 0 });
        // Strict asks two agreeing identities per task; adaptive lets the anchor's results stand alone.
        expect(done.validation!.replicas).toBeGreaterThanOrEqual(mode === 'strict' ? 2 * TASKS : TASKS);
        return done;
      });

      await test.step('the liars are banned, and their workers, refused for good, exit with code 2', async () => {
        for (const liar of liars) {
          const id = liar.identityId();
          await expect.poll(async () => (await api.identity(id)).trust, { message: `liar ${id} banned` }).toBe('banned');
          const row = await api.identity(id);
          expect(row.banReason, 'the ban says why').toBeTruthy();
          expect(row.connections).toBe(0);
          await expect.poll(() => liar.exitCode, { timeout: 15_000, message: `liar ${id} exits: ${liar.errorOutput()}` }).toBe(REFUSED);
          expect(liar.errorOutput()).toContain('4032');
        }
        const page = await api.identities();
        const banned = page.rows.filter((r) => r.trust === 'banned').map((r) => r.id);
        expect(banned.sort(), 'only the liars are banned').toEqual(liars.map((l) => l.identityId()).sort());
      });

      await test.step('the dashboard shows the bans, the validation counts and a task\'s replicas', async () => {
        await expect(dash.events.locator('.event.identity-banned')).toHaveCount(2);
        await expect(dash.events.locator('.event.identity-banned').first()).toContainText('banned');
        for (const liar of liars) await expect(dash.identityTrust(liar.identityId())).toHaveText('banned');
        await expect(page.getByTestId(`jobs.validation.${job.id}`)).toContainText(`${mode}: ${TASKS} validated, 0 awaiting, 0 inconclusive`);
        await dash.openJob(`squares-${mode}`);
        await expect(page.getByTestId('detail.validated')).toHaveText(String(TASKS));
        // Replicas still in flight when the job completed are counted once they land: read the final count now.
        const final = await api.job(job.id);
        expect(final.validation!.replicas).toBeGreaterThanOrEqual(done.validation!.replicas);
        await expect(page.getByTestId('detail.replicas')).toContainText(`${final.validation!.replicas} so far`);
        // A task the liars had a hand in, if one is found among the first tasks: its replicas show their verdicts.
        const liarIds = new Set(liars.map((l) => l.identityId()));
        let shown = 0;
        for (let i = 0; i < 60 && shown === 0; i++) {
          const task = await api.task(job.id, i);
          if (task.replicas?.some((r) => liarIds.has(r.identity))) shown = i + 1;
        }
        const index = Math.max(0, shown - 1);
        await page.getByLabel('Task index').fill(String(index));
        await page.getByRole('button', { name: 'Show', exact: true }).click();
        const replicas = page.getByTestId('detail.task.replicas');
        await expect(replicas).toBeVisible();
        const task = await api.task(job.id, index);
        expect(task.replicas!.length).toBeGreaterThan(0);
        await expect(replicas.locator('tbody tr')).toHaveCount(task.replicas!.length);
        for (const r of task.replicas!) await expect(page.getByTestId(`detail.replica.verdict.${r.attempt}`)).toHaveText(r.verdict);
        if (shown > 0) {
          // The liar's vote on a settled task lost: rejected (or void, its identity being banned).
          const lie = task.replicas!.find((r) => liarIds.has(r.identity))!;
          expect(['rejected', 'void', 'failed']).toContain(lie.verdict);
        }
        await attachScreenshot(page, `dashboard after ${mode}`);
      });
    });
  }

  test('[V1] a tab keeps its identity across a reload, and the dashboard shows that identity for it', async ({ page, master, api, openVolunteer }) => {
    const dash = new DashboardPage(page, master);
    await dash.signIn();
    const tab = await openVolunteer();
    await tab.start();
    const identity = tab.page.getByTestId('volunteer.identity');
    await expect(identity).toHaveText(/^i_[A-Za-z0-9_-]{22}$/);
    const first = (await identity.textContent())!;
    await expect(dash.volunteerWithIdentity(first)).toBeVisible();
    await expect(dash.volunteerTrust(first)).toHaveText('untrusted');

    await test.step('reloaded, the tab proves the same identity', async () => {
      await tab.reloadAndResume();
      await expect(identity).toHaveText(first);
    });

    await test.step('the master knows one identity for it, connected once, in its table', async () => {
      await expect.poll(async () => (await api.stats()).volunteers).toBe(1);
      await expect(dash.volunteersTotal).toHaveText('1');
      await expect(dash.volunteerWithIdentity(first)).toBeVisible();
      const ids = await api.identities();
      expect(ids.rows.map((r) => r.id)).toEqual([first]);
      await expect.poll(async () => (await api.identity(first)).connections).toBe(1);
      // The Identities section refetches by itself on bans and trust earned; a new identity needs a Refresh.
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect(dash.identityTrust(first)).toHaveText('untrusted');
      await expect(page.getByTestId(`identities.row.${first}`)).toContainText('127.0.0.0/24');
    });
  });
});
