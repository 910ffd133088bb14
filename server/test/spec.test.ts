import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_DIR } from './helpers.ts';

const ROOT = path.resolve(SERVER_DIR, '..');

function testFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testFiles(p);
    return /\.(test|spec)\.ts$/.test(e.name) ? [p] : [];
  });
}

describe('SPEC.md', () => {
  it('every numbered rule is cited by at least one test name', () => {
    const spec = fs.readFileSync(path.join(ROOT, 'SPEC.md'), 'utf8');
    const rules = [...spec.matchAll(/^- \*\*([A-Z]\d+)\*\*/gm)].map((m) => m[1]!);
    expect(rules.length).toBeGreaterThan(20);
    const tests = ['shared', 'server', 'web', 'e2e'].flatMap((d) => (fs.existsSync(path.join(ROOT, d)) ? testFiles(path.join(ROOT, d)) : []));
    const text = tests.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    const uncited = rules.filter((r) => !text.includes(`[${r}]`));
    expect(uncited, 'rules without a test').toEqual([]);
  });
});
