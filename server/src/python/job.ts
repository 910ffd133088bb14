/**
 * Python jobs (SPEC.md section Y): the master turns a Python module into the JavaScript job module every
 * volunteer already runs (runtime.js with the source and the Pyodide assets' hashes in it), and adds
 * Pyodide's files to the job's assets. The volunteer protocol, the store, the scheduler and the compute
 * path of JavaScript jobs are unchanged: a JavaScript job costs nothing extra, and Pyodide travels as any
 * asset does, fetched once by each volunteer and kept in its cache (rule A4).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PYODIDE_ASSET_NAMES, PYTHON_MARKER } from '@barnraise/shared';
import { SOURCE_DIR } from '../paths.ts';

export { PYTHON_MARKER };

const TEMPLATE = readFileSync(path.join(SOURCE_DIR, 'python/runtime.js'), 'utf8');

/** A job's language, as its summary shows it. */
export type JobLanguage = 'javascript' | 'python';

export function languageOf(code: string): JobLanguage {
  return code.startsWith(PYTHON_MARKER) ? 'python' : 'javascript';
}

/** [Y3] Why a Python job's own asset names clash with Pyodide's (whose files take those names), or undefined. */
export function pyodideNameClash(names: readonly string[]): string | undefined {
  const taken = PYODIDE_ASSET_NAMES.filter((name) => names.includes(name));
  return taken.length > 0 ? `a Python job's assets may not be named ${taken.map((n) => `"${n}"`).join(', ')}: Pyodide's files have those names` : undefined;
}

/** Asset names a job may give wheels: installed from them before its module is imported (Y5). */
export const isWheel = (name: string) => name.endsWith('.whl');

/**
 * The JavaScript module a Python job ships as. `pyodide` maps each Pyodide file's asset name to its hash;
 * `wheels` are the names of the job's own wheel assets.
 */
export function pythonJobModule(source: string, pyodide: Readonly<Record<string, string>>, wheels: readonly string[]): string {
  const fill = (text: string, slot: string, value: unknown) => {
    const marker = `/*${slot}*/ `;
    const at = text.indexOf(marker);
    if (at < 0) throw new Error(`runtime.js has no ${slot} slot`);
    const end = text.indexOf(';', at);
    return text.slice(0, at) + JSON.stringify(value) + text.slice(end);
  };
  let code = fill(TEMPLATE, 'SOURCE', source);
  code = fill(code, 'PYODIDE', pyodide);
  return fill(code, 'WHEELS', wheels);
}

/** The Python source a generated job module carries (for the dashboard and the summary), or undefined. */
export function pythonSourceOf(code: string): string | undefined {
  if (languageOf(code) !== 'python') return undefined;
  const m = /const SOURCE = ("(?:[^"\\\n]|\\.)*");/.exec(code);
  return m ? (JSON.parse(m[1]!) as string) : undefined;
}
