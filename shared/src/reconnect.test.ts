import { describe, expect, it } from 'vitest';
import { backoffMs } from './reconnect.ts';

describe('backoffMs', () => {
  it('grows exponentially up to the cap, scaled by the jitter', () => {
    expect(backoffMs(0, 250, 10_000, () => 0.5)).toBe(125);
    expect(backoffMs(3, 250, 10_000, () => 1)).toBe(2000);
    expect(backoffMs(30, 250, 10_000, () => 1)).toBe(10_000);
    expect(backoffMs(5, 250, 10_000, () => 0)).toBe(0);
  });
});
