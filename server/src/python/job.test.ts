import { describe, expect, it } from 'vitest';
import { checkJobCode } from '../jobs/code.ts';
import { languageOf, pythonJobModule, pythonSourceOf, PYTHON_MARKER } from './job.ts';
import { PYODIDE_FILES } from './pyodide.ts';

const hashes = Object.fromEntries(PYODIDE_FILES.map((n, i) => [n, String(i).repeat(64)]));

describe('the module a Python job runs as', () => {
  it('[Y3] is a JavaScript job module that carries the Python source exactly, whatever it holds', () => {
    const source = 'def main(s, ctx):\n    """*/ ` ${x} \\\\ \u2028 é 🐍"""\n    return s + "\'\\"";\n';
    const code = pythonJobModule(source, hashes, ['tool-1.0-py3-none-any.whl']);
    expect(code.startsWith(PYTHON_MARKER)).toBe(true);
    expect(checkJobCode(code)).toBeUndefined();
    expect(pythonSourceOf(code)).toBe(source);
    expect(code).toContain(JSON.stringify(hashes));
    expect(code).toContain('["tool-1.0-py3-none-any.whl"]');
  });

  it('[Y1] tells a job\'s language by its code: only a generated module is Python', () => {
    expect(languageOf(pythonJobModule('def main(x, ctx):\n    return x\n', hashes, []))).toBe('python');
    expect(languageOf('export default (n) => n')).toBe('javascript');
    expect(languageOf(` ${PYTHON_MARKER}\nexport default (n) => n`)).toBe('javascript');
    expect(pythonSourceOf('export default (n) => n')).toBeUndefined();
  });
});
