/** The volunteer page stays small: every script it loads, gzipped, within 100 KB. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { expect, test } from '@playwright/test';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web/dist');
const BUDGET_BYTES = 100 * 1024;

test('the volunteer page loads at most 100 KB of gzipped JavaScript, sandbox included', async () => {
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  // The entry script and the chunks it preloads: everything the page runs before any click.
  const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  expect(scripts.length, 'index.html references its scripts').toBeGreaterThan(0);
  const sizes = Object.fromEntries(scripts.map((s) => [s, gzipSync(fs.readFileSync(path.join(dist, s)), { level: 9 }).length]));
  // sandbox.html carries the frame and worker scripts inline.
  sizes['sandbox.html'] = gzipSync(fs.readFileSync(path.join(dist, 'sandbox.html')), { level: 9 }).length;
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  await test.info().attach('gzipped sizes', { body: JSON.stringify({ ...sizes, total }, null, 2), contentType: 'application/json' });
  expect(total, `gzipped: ${JSON.stringify(sizes)}`).toBeLessThanOrEqual(BUDGET_BYTES);
});
