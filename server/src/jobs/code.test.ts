import { describe, expect, it } from 'vitest';
import { checkJobCode } from './code.ts';

describe('checkJobCode', () => {
  it('accepts a module with a default export', () => {
    expect(checkJobCode('export default (n) => n + 1')).toBeUndefined();
    expect(checkJobCode('const f = async (x, ctx) => x; export { f as default }')).toBeUndefined();
  });
  it('reports a syntax error with its position', () => {
    expect(checkJobCode('export default (n) => n +')).toMatch(/syntax error: .*\(1:\d+\)/);
  });
  it('requires a default export', () => {
    expect(checkJobCode('export const f = 1')).toMatch(/default export/);
  });
});
