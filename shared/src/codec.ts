/** Frame decoding shared by master and volunteers: JSON parse, then a schema check supplied by the caller
 * (the master uses TypeBox's compiled checker; the page uses Value.Check because its CSP forbids eval). */

export type Check<T> = (value: unknown) => value is T;

export class FrameError extends Error {
  readonly code = 'bad_frame' as const;
}

/** Decode one text frame or throw FrameError saying why. */
export function decodeFrame<T>(data: string, check: Check<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new FrameError('frame is not valid JSON');
  }
  if (!check(value)) {
    const type = typeof value === 'object' && value !== null && 'type' in value ? String((value as { type: unknown }).type) : '?';
    throw new FrameError(`frame of type "${type.slice(0, 40)}" does not match the protocol`);
  }
  return value;
}
