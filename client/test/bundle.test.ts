/** The client is meant for browsers too: it bundles for the browser with nothing left to resolve. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const entry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/index.ts');

it('bundles for the browser as one ES module: no Node built-ins, no external imports', async () => {
  const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, metafile: true, logLevel: 'silent' });
  expect(out.errors).toEqual([]);
  const inputs = Object.keys(out.metafile.inputs);
  expect(inputs.filter((f) => f.startsWith('node:') || !/\.(ts|js|mjs|cjs)$/.test(f))).toEqual([]);
  const text = out.outputFiles[0]!.text;
  expect(text).not.toMatch(/\bimport\s*(\(|["'{*])/);
  expect(text).not.toMatch(/\brequire\(/);
  // The one reference to `process` is the guarded read of the environment.
  expect(text.match(/\bprocess\b/g)?.length ?? 0).toBeLessThanOrEqual(2);
  expect(Object.values(out.metafile.outputs)[0]!.exports).toEqual(expect.arrayContaining(['Barnraise', 'TaskError', 'Job']));
});
