/**
 * Comparing outputs (rule V7): `exact` is equality of canonical JSON (object keys sorted, so two engines
 * that build an object in another order still agree); `numeric` lets every number differ by `abs` or by
 * `rel` of the larger magnitude, since `Math.sin` and friends are implementation-approximated in ECMAScript
 * and differ across engines in the last bits.
 */
import { createHash } from 'node:crypto';
import type { Compare } from '@barnraise/shared';

/** JSON with object keys sorted at every depth: one text per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** A short hash of an output's canonical JSON, shown beside each replica. */
export function outputHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** The hash the group of failures is known by (a failure is a vote for "failed", whatever its message). */
export const FAILED_HASH = 'failed';

export interface Comparator {
  /** True when two outputs count as the same answer. */
  same(a: unknown, b: unknown, hashA: string, hashB: string): boolean;
}

export function comparator(compare: Compare | undefined): Comparator {
  if (compare === undefined || compare === 'exact') return { same: (_a, _b, ha, hb) => ha === hb };
  const abs = compare.numeric.abs ?? 0;
  const rel = compare.numeric.rel ?? 0;
  return { same: (a, b, ha, hb) => ha === hb || near(a, b, abs, rel, 0) };
}

/** Deep equality where numbers may differ within tolerance. Depth is bounded by the output limit (2,048). */
function near(a: unknown, b: unknown, abs: number, rel: number, depth: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b) return true;
    if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
    const diff = Math.abs(a - b);
    return diff <= abs || diff <= rel * Math.max(Math.abs(a), Math.abs(b));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (depth > 4096) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => near(v, bb[i], abs, rel, depth + 1));
  }
  const oa = a as Record<string, unknown>;
  const ob = b as Record<string, unknown>;
  const ka = Object.keys(oa).filter((k) => oa[k] !== undefined);
  const kb = Object.keys(ob).filter((k) => ob[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => k in ob && near(oa[k], ob[k], abs, rel, depth + 1));
}
