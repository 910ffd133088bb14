/** Checks of the submit form, run before anything is sent, so mistakes show inline at once. */
import { Limits, type JobLanguage } from '@barnraise/shared';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** The inputs field: a JSON array with at least one element. */
export function checkInputs(text: string): Checked<unknown[]> {
  if (!text.trim()) return { ok: false, error: 'Inputs are required: a JSON array, one element per task.' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `Inputs are not valid JSON: ${(err as Error).message}` };
  }
  if (!Array.isArray(value)) return { ok: false, error: 'Inputs must be a JSON array, one element per task.' };
  if (value.length === 0) return { ok: false, error: 'Inputs must have at least one element.' };
  if (value.length > Limits.maxInputs) return { ok: false, error: `At most ${Limits.maxInputs} inputs per job.` };
  return { ok: true, value };
}

/**
 * The code field: present, within the size limit, and visibly the job module its language wants: an ES module
 * with a default export, or a Python module with a `main` (Y1).
 */
export function checkCode(code: string, language: JobLanguage = 'javascript'): Checked<string> {
  const python = language === 'python';
  if (!code.trim()) return { ok: false, error: python ? 'Code is required: a Python module whose main(input, ctx) is the task function.' : 'Code is required: an ES module whose default export is the task function.' };
  if (code.length > Limits.maxCodeBytes) return { ok: false, error: `Code is larger than ${Limits.maxCodeBytes} bytes.` };
  // The master parses it properly and says where a syntax error is; this only catches the common slip.
  if (python) return /\bmain\b/.test(code) ? { ok: true, value: code } : { ok: false, error: 'Code needs a main function: def main(input, ctx): return output' };
  if (!/export\s+default|as\s+default/.test(code)) return { ok: false, error: 'Code needs a default export: export default (input, ctx) => output' };
  return { ok: true, value: code };
}

/** An optional positive integer field. */
export function checkPositive(text: string, name: string): Checked<number | undefined> {
  if (!text.trim()) return { ok: true, value: undefined };
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) return { ok: false, error: `${name} must be a whole number of at least 1.` };
  return { ok: true, value: n };
}
