/** Frame decoding shared by master and volunteers: JSON parse, then a schema check supplied by the caller
 * (the master uses TypeBox's compiled checker; the page uses Value.Check because its CSP forbids eval); and
 * the volunteers' `results` frame, written as text from outputs that may be JSON text already. */

import type { AttemptOutcome } from './runner.ts';

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

/**
 * One item of a `results` frame as JSON text. An output that arrives as JSON text (the headless worker's
 * threads encode it once) goes in as is; the milliseconds are kept to the microsecond, which the master
 * needs no finer and which keeps the frame short.
 */
export function encodeResultItem(a: string, outcome: AttemptOutcome): string {
  const ms = Number.isFinite(outcome.ms) && outcome.ms > 0 ? Math.round(outcome.ms * 1000) / 1000 : 0;
  if (!outcome.ok) return JSON.stringify({ a, ok: false, error: outcome.error, ms });
  const output = 'json' in outcome ? outcome.json : JSON.stringify(outcome.output === undefined ? null : outcome.output);
  return `{"a":${JSON.stringify(a)},"ok":true,"output":${output},"ms":${ms}}`;
}

/** A `results` frame (ResultsSchema) from items made by encodeResultItem, with the credits it grants. */
export function encodeResultsFrame(items: readonly string[], want: number): string {
  return `{"type":"results","items":[${items.join(',')}]${want > 0 ? `,"want":${want}` : ''}}`;
}
