/**
 * Array parameters as PostgreSQL array literals, written here rather than by node-postgres: its encoder
 * (`prepareValue`, `arrayString`, `escapeElement`) looks at each element's type and runs two regular
 * expressions on every string, about 2 µs a task on a commit's dozen columns (a CPU profile of the cluster
 * benchmark's master: 7.5% of its event loop). The columns of a commit hold only integers, strings and nulls,
 * so one join does it. The statement casts each parameter (`$1::int[]`), so PostgreSQL parses the literal as
 * it would node-postgres's.
 */

/** `{1,2,NULL}`: integers (int2, int4, int8 columns) or nulls. */
export function intArray(values: readonly (number | null | undefined)[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) s += ',';
    s += v === null || v === undefined ? 'NULL' : String(v);
  }
  return s + '}';
}

/** Characters that must be escaped inside a double-quoted element. */
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * `{"a","b \"c\"",NULL}`: strings or nulls. Every string is quoted, so an element reading NULL, an empty
 * string, one with commas, braces or leading spaces all stay themselves; only `"` and `\` are escaped.
 */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) s += ',';
    if (v === null || v === undefined) s += 'NULL';
    else s += NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPED, '\\$&')}"` : `"${v}"`;
  }
  return s + '}';
}
