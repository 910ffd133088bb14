/**
 * A job file (TypeScript or JavaScript, importing npm packages installed beside it) bundled with esbuild
 * into the one ES module the master takes: everything inlined, a default export, for browsers (volunteers'
 * tabs are where it runs; the headless worker runs the same module).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Message } from 'esbuild';
import { Limits, type JobLanguage } from '@barnraise/shared';
import { CliError } from './common.ts';

function describe(messages: Message[]): string {
  return messages
    .slice(0, 5)
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text) + (m.notes[0] ? ` (${m.notes[0].text})` : ''))
    .join('\n  ');
}

/** The bundled module's source. Throws a CliError that says where, when it does not build or has no default export. */
export async function bundleJob(file: string): Promise<string> {
  const entry = path.resolve(file);
  let result;
  // esbuild loads only when a job is bundled: not for every command, nor for `serve`.
  const { build } = await import('esbuild');
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: path.dirname(entry),
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      metafile: true,
      charset: 'utf8',
      legalComments: 'none',
      logLevel: 'silent',
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    throw new CliError(`cannot bundle ${file}:\n  ${errors ? describe(errors) : (err as Error).message}`);
  }
  const output = Object.values(result.metafile.outputs)[0];
  if (!output?.exports.includes('default')) {
    throw new CliError(`${file} has no default export: a job module is \`export default (input, ctx) => output\``);
  }
  const code = result.outputFiles[0]!.text;
  const bytes = Buffer.byteLength(code);
  if (bytes > Limits.maxCodeBytes) throw new CliError(`${file} bundles to ${bytes} bytes; the master takes at most ${Limits.maxCodeBytes}`);
  return code;
}

/** A job file as the master takes it: a `.py` file is a Python module sent as it is (the master checks and wraps it, Y1); anything else is bundled. */
export async function loadJob(file: string): Promise<{ code: string; language: JobLanguage }> {
  if (path.extname(file).toLowerCase() !== '.py') return { code: await bundleJob(file), language: 'javascript' };
  let code: string;
  try {
    code = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const bytes = Buffer.byteLength(code);
  if (bytes > Limits.maxCodeBytes) throw new CliError(`${file} is ${bytes} bytes; the master takes at most ${Limits.maxCodeBytes}`);
  return { code, language: 'python' };
}
