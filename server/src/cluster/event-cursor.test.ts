import { describe, expect, it } from 'vitest';
import { EventCursor } from './event-cursor.ts';

const rows = (...seqs: number[]) => seqs.map((seq) => ({ seq }));

describe('EventCursor', () => {
  it('[K9] takes lines in order and moves past them', () => {
    const c = new EventCursor(0, 5000, () => 0);
    expect(c.take(rows(1, 2, 3)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(c.after).toBe(3);
  });

  it('[K9] waits at a gap: a number that shows up late is taken once, and nothing is taken twice', () => {
    let t = 0;
    const c = new EventCursor(0, 5000, () => t);
    expect(c.take(rows(1, 3, 4)).map((r) => r.seq)).toEqual([1, 3, 4]);
    expect(c.after).toBe(1);
    t = 1000;
    expect(c.take(rows(2, 3, 4, 5)).map((r) => r.seq)).toEqual([2, 5]);
    expect(c.after).toBe(5);
  });

  it('[K9] passes a gap that stays empty after the wait (a rolled-back commit)', () => {
    let t = 0;
    const c = new EventCursor(10, 5000, () => t);
    c.take(rows(12, 13));
    expect(c.after).toBe(10);
    t = 4999;
    expect(c.take(rows(12, 13))).toEqual([]);
    expect(c.after).toBe(10);
    t = 5000;
    expect(c.take(rows(12, 13))).toEqual([]);
    expect(c.after).toBe(13);
  });
});
