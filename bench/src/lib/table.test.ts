import { describe, expect, it } from 'vitest';
import { fmt, formatRows, formatTable, mb, verdict, Verdict } from './table.ts';

describe('formatTable', () => {
  it('pads every column to its widest cell, as a Markdown pipe table', () => {
    expect(formatTable(['a', 'long header'], [['wide cell', 'x'], ['y']])).toBe(
      ['| a         | long header |', '|-----------|-------------|', '| wide cell | x           |', '| y         |             |'].join('\n'),
    );
  });

  it('escapes pipes and newlines inside cells', () => {
    expect(formatTable(['h'], [['a|b\nc']])).toContain('a\\|b c');
  });

  it('renders report rows with the verdict last', () => {
    const out = formatRows([{ bench: 'dispatch', figure: 'tasks/s', value: '1,000', beside: 'raw 2,000', target: '>= 50% of raw', verdict: Verdict.pass }]);
    expect(out.split('\n')[2]).toMatch(/^\| dispatch \| tasks\/s +\| 1,000 +\| raw 2,000 +\| >= 50% of raw \| PASS +\|$/);
  });
});

describe('verdict', () => {
  it('passes at the bound and misses past it, either direction', () => {
    expect(verdict(0.9, { atLeast: 0.9 })).toBe(Verdict.pass);
    expect(verdict(0.89, { atLeast: 0.9 })).toBe(Verdict.miss);
    expect(verdict(500, { atMost: 500 })).toBe(Verdict.pass);
    expect(verdict(501, { atMost: 500 })).toBe(Verdict.miss);
  });

  it('misses a figure that could not be measured', () => {
    expect(verdict(Number.NaN, { atLeast: 0 })).toBe(Verdict.miss);
  });
});

describe('fmt and mb', () => {
  it('uses thousands separators and fixed decimals', () => {
    expect(fmt(12345.678)).toBe('12,346');
    expect(fmt(0.5, 2)).toBe('0.50');
    expect(fmt(Number.NaN)).toBe('n/a');
    expect(mb(512_000_000)).toBe('512 MB');
  });
});
