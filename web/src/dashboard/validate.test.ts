import { describe, expect, it } from 'vitest';
import { checkCode, checkInputs, checkPositive } from './validate.ts';

describe('submit form checks', () => {
  it('accepts a non-empty JSON array of inputs', () => {
    expect(checkInputs('[1, {"a": 2}]')).toEqual({ ok: true, value: [1, { a: 2 }] });
  });
  it.each([
    ['', /required/],
    ['[1, 2', /not valid JSON/],
    ['{"a": 1}', /must be a JSON array/],
    ['[]', /at least one/],
  ])('refuses inputs %j', (text, message) => {
    const r = checkInputs(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });
  it('wants code with a default export', () => {
    expect(checkCode('export default (n) => n').ok).toBe(true);
    expect(checkCode('const f = 1; export { f as default }').ok).toBe(true);
    expect(checkCode('  ')).toMatchObject({ ok: false });
    expect(checkCode('export const f = 1')).toMatchObject({ ok: false, error: expect.stringMatching(/default export/) });
  });
  it('[Y1] wants Python code with a main', () => {
    expect(checkCode('def main(n, ctx):\n    return n\n', 'python').ok).toBe(true);
    expect(checkCode('from tasks import main\n', 'python').ok).toBe(true);
    expect(checkCode('def run(n):\n    return n\n', 'python')).toMatchObject({ ok: false, error: expect.stringMatching(/main function/) });
    expect(checkCode('export default (n) => n', 'python')).toMatchObject({ ok: false });
    expect(checkCode(' \n', 'python')).toMatchObject({ ok: false, error: expect.stringMatching(/Python module/) });
  });
  it('reads optional positive integers', () => {
    expect(checkPositive('', 'Timeout')).toEqual({ ok: true, value: undefined });
    expect(checkPositive('500', 'Timeout')).toEqual({ ok: true, value: 500 });
    expect(checkPositive('0', 'Timeout')).toMatchObject({ ok: false });
    expect(checkPositive('1.5', 'Timeout')).toMatchObject({ ok: false });
  });
});
