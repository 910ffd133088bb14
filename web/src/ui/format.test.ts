import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, formatRate } from './format.ts';

describe('formatDuration', () => {
  it('shows seconds, then minutes, then hours', () => {
    expect(formatDuration(0)).toBe('0.0 s');
    expect(formatDuration(4_290)).toBe('4.2 s');
    expect(formatDuration(42_900)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(2 * 3600_000 + 7 * 60_000)).toBe('2 h 07 min');
  });
  it('never shows a negative time', () => expect(formatDuration(-5)).toBe('0.0 s'));
});

describe('formatCount and formatRate', () => {
  it('groups thousands and rounds rates', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatRate(3.14159)).toBe('3.1');
    expect(formatRate(123.6)).toBe('124');
  });
});
