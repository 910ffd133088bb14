/**
 * Size of a value as stored: JSON-encoded bytes, or why it cannot be stored. A volunteer or a REST
 * client can send JSON that parses fine yet cannot be encoded again (V8's JSON.parse is iterative,
 * JSON.stringify recursive: an array nested ~5,000 deep parses, then throws "Maximum call stack size
 * exceeded" in the store's commit, for every volunteer's results in that batch). So what arrives from
 * outside is re-encoded once at the door.
 */

/**
 * Text shorter than this cannot nest deeper than MAX_JSON_DEPTH (each level takes two characters) nor
 * exceed any size limit here, so it skips the check.
 */
export const SMALL_JSON_CHARS = 4096;

/**
 * Deepest nesting a stored value may have. Where JSON.stringify overflows depends on the thread's stack:
 * near depth 4,500 on the event loop but near 4,000 on the store's thread, so "it encoded here" is not
 * enough; a fixed limit, well inside both, is the same everywhere.
 */
export const MAX_JSON_DEPTH = SMALL_JSON_CHARS / 2;

/** The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count). */
function jsonDepth(text: string): number {
  let depth = 0;
  let most = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > most) most = depth;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return most;
}

export type JsonSize = { ok: true; bytes: number } | { ok: false; why: string };

/** JSON-encoded size of `value` in bytes, or why it cannot be encoded. */
export function jsonSize(value: unknown): JsonSize {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { ok: false, why: err instanceof RangeError ? 'it is nested too deeply to store as JSON' : `it cannot be stored as JSON (${(err as Error).message})` };
  }
  if (text === undefined) return { ok: false, why: 'it is not a JSON value' };
  if (text.length >= SMALL_JSON_CHARS && jsonDepth(text) > MAX_JSON_DEPTH) return { ok: false, why: `it is nested more than ${MAX_JSON_DEPTH} deep` };
  // Bytes, not UTF-16 units; counting them costs a pass over the text, so only when it could matter.
  return { ok: true, bytes: text.length > 64 ? Buffer.byteLength(text) : text.length };
}

/**
 * A cheap upper bound on the JSON size of a value already known to be storable: exact for scalars and short
 * strings, JSON.stringify only for objects. For sizing frames, not for checking limits.
 */
export function jsonBytesBound(value: unknown): number {
  switch (typeof value) {
    case 'number':
    case 'boolean':
      return 24;
    case 'string':
      // Each UTF-16 unit is at most 3 bytes of UTF-8, or 6 escaped; plus the quotes.
      return value.length * 6 + 2;
    default: {
      if (value === null || value === undefined) return 4;
      const size = jsonSize(value);
      return size.ok ? size.bytes : 0;
    }
  }
}

/** The largest `jsonBytesBound` of a list of values. */
export function largestJsonBound(values: readonly unknown[]): number {
  let most = 0;
  for (const v of values) {
    if (v === undefined) continue;
    const b = jsonBytesBound(v);
    if (b > most) most = b;
  }
  return most;
}

/** A message when `value` is not storable or larger than `limit` bytes, else undefined. */
export function jsonProblem(value: unknown, limit: number, what: string): string | undefined {
  const size = jsonSize(value);
  if (!size.ok) return `${what} cannot be stored: ${size.why}`;
  return sizeProblem(size.bytes, limit, what);
}

/** A message when `bytes` is over `limit`, else undefined. */
export function sizeProblem(bytes: number, limit: number, what: string): string | undefined {
  return bytes > limit ? `${what} is ${bytes} bytes as JSON; the limit is ${limit}` : undefined;
}
