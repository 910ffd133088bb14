import { describe, expect, it } from 'vitest';
import { median, percentile, summarize } from './stats.ts';

describe('percentile (nearest rank)', () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it('gives an observed value at the nearest rank', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
  });

  it('takes the largest value for a high percentile of few values', () => {
    expect(percentile([1, 2, 3], 99)).toBe(3);
    expect(percentile([7], 1)).toBe(7);
  });

  it('is NaN for no values and refuses p outside (0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('sorts a copy numerically and reports the usual figures', () => {
    const values = [5, 1, 100, 3, 2, 4, 10, 9, 8, 7];
    const s = summarize(values);
    expect(s).toMatchObject({ n: 10, min: 1, max: 100, p50: 5, p90: 10, p99: 100, mean: 14.9 });
    expect(values[0]).toBe(5);
  });

  it('is NaN throughout for no values', () => {
    expect(summarize([]).p50).toBeNaN();
    expect(summarize([]).n).toBe(0);
  });

  it('median of unsorted values', () => {
    expect(median([3, 1, 2])).toBe(2);
  });
});
