import { describe, expect, it } from 'vitest';
import { describeError, encodeOutput, runAttempt, runAttemptJson, taskFunctionOf } from './runner.ts';

const clock = () => 0;

describe('runner', () => {
  it('runs the default export and returns its output', async () => {
    const fn = taskFunctionOf({ default: async (n: number) => n + 1 });
    await expect(runAttempt(fn, 41, 0, () => {}, clock)).resolves.toEqual({ ok: true, output: 42, ms: 0 });
  });

  it('turns a throw into a failed outcome with the message', async () => {
    const fn = taskFunctionOf({ default: () => { throw new RangeError('too big'); } });
    await expect(runAttempt(fn, 1, 0, () => {}, clock)).resolves.toEqual({ ok: false, error: 'RangeError: too big', ms: 0 });
  });

  it('refuses a module without a default function', () => {
    expect(() => taskFunctionOf({ notDefault: 1 })).toThrow(/default export/);
  });

  it('reports clamped progress and the index', async () => {
    const seen: number[] = [];
    const fn = taskFunctionOf({ default: (_: unknown, ctx: { progress(f: number): void; index: number }) => { ctx.progress(2); ctx.progress(0.5); return ctx.index; } });
    const out = await runAttempt(fn, null, 7, (p) => seen.push(p), clock);
    expect(out).toEqual({ ok: true, output: 7, ms: 0 });
    expect(seen).toEqual([1, 0.5]);
  });

  it('maps undefined to null and refuses unserializable output', () => {
    expect(encodeOutput(undefined)).toBeNull();
    expect(() => encodeOutput(() => 1)).toThrow(/JSON/);
    expect(() => encodeOutput(1n)).toThrow();
  });

  it('describes thrown non-errors', () => {
    expect(describeError('plain')).toBe('plain');
    expect(describeError({ a: 1 })).toBe('{"a":1}');
  });

  it('runAttemptJson answers a plain value at once, as JSON text, and awaits promises and thenables', async () => {
    const sync = runAttemptJson(taskFunctionOf({ default: (n: number) => ({ n: n + 1, u: undefined }) }), 41, 0, () => {}, clock);
    expect(sync).toEqual({ ok: true, json: '{"n":42}', ms: 0 });
    expect(runAttemptJson(taskFunctionOf({ default: () => undefined }), 0, 0, () => {}, clock)).toEqual({ ok: true, json: 'null', ms: 0 });
    const promised = runAttemptJson(taskFunctionOf({ default: async (n: number) => n * 2 }), 21, 0, () => {}, clock);
    expect(promised).toBeInstanceOf(Promise);
    await expect(promised).resolves.toEqual({ ok: true, json: '42', ms: 0 });
    const thenable = { then: (ok: (v: unknown) => void) => ok([1]) };
    await expect(runAttemptJson(taskFunctionOf({ default: () => thenable }), 0, 0, () => {}, clock)).resolves.toEqual({ ok: true, json: '[1]', ms: 0 });
  });

  it('runAttemptJson turns throws, rejections and unserializable outputs into failed outcomes', async () => {
    expect(runAttemptJson(taskFunctionOf({ default: () => { throw new RangeError('too big'); } }), 0, 0, () => {}, clock)).toEqual({ ok: false, error: 'RangeError: too big', ms: 0 });
    await expect(runAttemptJson(taskFunctionOf({ default: async () => { throw new Error('later'); } }), 0, 0, () => {}, clock)).resolves.toEqual({ ok: false, error: 'later', ms: 0 });
    expect(runAttemptJson(taskFunctionOf({ default: () => 1n }), 0, 0, () => {}, clock)).toMatchObject({ ok: false, error: expect.stringMatching(/BigInt/) });
  });
});
