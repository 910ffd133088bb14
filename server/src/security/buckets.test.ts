import { describe, expect, it } from 'vitest';
import { AddressAdmission } from './buckets.ts';

describe('[S2] per-address admission', () => {
  it('admits a burst, then the refill rate; caps open connections; forgets idle addresses', () => {
    let now = 0;
    const a = new AddressAdmission({ perSecond: 2, burst: 3, maxOpen: 4, now: () => now });
    expect([1, 2, 3, 4].map(() => a.admit('1.1.1.1'))).toEqual(['ok', 'ok', 'ok', 'rate']);
    expect(a.admit('2.2.2.2'), 'another address has its own budget').toBe('ok');
    now += 500; // one token back
    expect(a.admit('1.1.1.1')).toBe('ok');
    now += 10_000;
    expect(a.admit('1.1.1.1'), 'four open: the cap, whatever the tokens').toBe('cap');
    a.release('1.1.1.1');
    expect(a.admit('1.1.1.1')).toBe('ok');
    for (let k = 0; k < 4; k++) a.release('1.1.1.1');
    a.release('2.2.2.2');
    a.release('2.2.2.2'); // an extra release never goes below zero
    for (let k = 0; k < 1000; k++) expect(a.admit(`10.0.${k >> 8}.${k & 255}`)).toBe('ok');
    for (let k = 0; k < 1000; k++) a.release(`10.0.${k >> 8}.${k & 255}`);
    expect(a.size).toBe(1002);
    now += 1000; // buckets of size 3 at 2/s refill in 1.5 s: only 2.2.2.2, idle for 11 s, goes
    a.sweep();
    expect(a.size).toBe(1001);
    now += 1000;
    a.sweep();
    expect(a.size, 'idle addresses are forgotten: the map is bounded by recent and connected addresses').toBe(0);
  });
});
