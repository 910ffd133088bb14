// Sum the vitest and Playwright JSON reports into the one line CI reads: "N passed, N failed, N skipped".
import fs from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
const read = (f) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : null);

const vitest = read(process.argv[2]);
if (vitest) {
  passed += vitest.numPassedTests;
  failed += vitest.numFailedTests;
  skipped += vitest.numPendingTests + (vitest.numTodoTests ?? 0);
  // A file that failed to load has no tests counted but is a failure all the same.
  failed += vitest.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
} else failed++;

const pw = process.argv[3] && read(process.argv[3]);
if (pw) {
  passed += pw.stats.expected + pw.stats.flaky;
  failed += pw.stats.unexpected + (pw.errors?.length ?? 0);
  skipped += pw.stats.skipped;
} else if (process.argv[3]) failed++;

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
