/**
 * Size of a value as stored: JSON-encoded bytes, or why it cannot be stored. A volunteer or a REST
 * client can send JSON that parses fine yet cannot be encoded again (V8's JSON.parse is iterative,
 * JSON.stringify recursive: an array nested ~5,000 deep parses, then throws "Maximum call stack size
 * exceeded" in the store's commit, for every volunteer's results in that batch). So what arrives from
 * outside is re-encoded once at the door.
 */

/**
 * Text shorter than this cannot nest deep enough to overflow JSON.stringify (it fails near depth 5,000,
 * which takes 10,000 characters) nor exceed any size limit here, so it skips the check.
 */
export const SMALL_JSON_CHARS = 4096;

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
  // Bytes, not UTF-16 units; counting them costs a pass over the text, so only when it could matter.
  return { ok: true, bytes: text.length > 64 ? Buffer.byteLength(text) : text.length };
}

/** A message when `value` is not storable or larger than `limit` bytes, else undefined. */
export function jsonProblem(value: unknown, limit: number, what: string): string | undefined {
  const size = jsonSize(value);
  if (!size.ok) return `${what} cannot be stored: ${size.why}`;
  if (size.bytes > limit) return `${what} is ${size.bytes} bytes as JSON; the limit is ${limit}`;
  return undefined;
}
