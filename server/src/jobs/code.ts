/** Checks a job's code before it is accepted: it must parse as an ES module with a default export. */
import { parse } from 'acorn';

/** Returns undefined when `code` is acceptable, else a message saying what is wrong. */
export function checkJobCode(code: string): string | undefined {
  let program;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
  } catch (err) {
    const e = err as SyntaxError & { loc?: { line: number; column: number } };
    return `code has a syntax error: ${e.message}`;
  }
  const hasDefault = program.body.some(
    (node) =>
      node.type === 'ExportDefaultDeclaration' ||
      (node.type === 'ExportNamedDeclaration' &&
        node.specifiers.some((s) => s.exported.type === 'Identifier' && s.exported.name === 'default')),
  );
  return hasDefault ? undefined : 'code must have a default export: the task function (input, ctx) => output';
}
