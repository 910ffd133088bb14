import { describe, expect, it } from 'vitest';
import { Check } from '@sinclair/typebox/value';
import { encodeResultItem, encodeResultsFrame } from './codec.ts';
import { VolunteerMessageSchema } from './protocol.ts';

describe('results frame encoding', () => {
  it('writes the frame JSON.stringify would, outputs given as values or as JSON text alike', () => {
    const items = [
      encodeResultItem('b.1', { ok: true, output: { x: [1, 'two'] }, ms: 1.5 }),
      encodeResultItem('b.2', { ok: true, json: '{"x":[1,"two"]}', ms: 0.0123456 }),
      encodeResultItem('b"3', { ok: false, error: 'boom "quoted"', ms: 2 }),
      encodeResultItem('b.4', { ok: true, output: undefined, ms: 0 }),
    ];
    const frame = JSON.parse(encodeResultsFrame(items, 4));
    expect(frame).toEqual({
      type: 'results',
      items: [
        { a: 'b.1', ok: true, output: { x: [1, 'two'] }, ms: 1.5 },
        { a: 'b.2', ok: true, output: { x: [1, 'two'] }, ms: 0.012 },
        { a: 'b"3', ok: false, error: 'boom "quoted"', ms: 2 },
        { a: 'b.4', ok: true, output: null, ms: 0 },
      ],
      want: 4,
    });
    expect(Check(VolunteerMessageSchema, frame)).toBe(true);
  });

  it('leaves want out when it grants nothing, and keeps a duration the master accepts', () => {
    const frame = JSON.parse(encodeResultsFrame([encodeResultItem('a', { ok: true, json: '1', ms: Number.NaN })], 0));
    expect(frame).toEqual({ type: 'results', items: [{ a: 'a', ok: true, output: 1, ms: 0 }] });
    expect(Check(VolunteerMessageSchema, frame)).toBe(true);
  });
});
