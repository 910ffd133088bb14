/** The API reference (/docs, swagger-ui) in Chromium, under the docs page's own Content-Security-Policy. */
import { expect, test } from './fixtures.ts';

test('[O1] /docs renders every operation of the API under its own CSP, without a single violation', async ({ page, master }) => {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`Refused to load: Content-Security-Policy ${e.violatedDirective} ${e.blockedURI}`));
  });
  const res = await page.goto(`${master.url}/docs`);
  expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
  await test.step('the document loads and every tag and operation is listed', async () => {
    await expect(page.getByText('Barnraise master')).toBeVisible({ timeout: 30_000 });
    for (const tag of ['jobs', 'operator', 'swarm', 'metrics']) await expect(page.locator(`#operations-tag-${tag}`)).toBeVisible();
    const doc = (await (await fetch(`${master.url}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(operations).toBeGreaterThanOrEqual(17);
    await expect(page.locator('.opblock')).toHaveCount(operations);
    await expect(page.getByText('/api/jobs/{id}/results')).toBeVisible();
  });
  await test.step('an operation opens, with its error responses', async () => {
    await page.locator('#operations-jobs-createJob').click();
    await expect(page.locator('#operations-jobs-createJob .responses-table')).toContainText('IDEMPOTENCY_KEY_REUSED');
  });
  expect(violations).toEqual([]);
});
