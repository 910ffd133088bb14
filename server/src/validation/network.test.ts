import { describe, expect, it } from 'vitest';
import { networkOf } from './network.ts';

describe('networks (SPEC.md V2, V6)', () => {
  it('[V6][V2] an IPv4 address is its /24, an IPv4-mapped IPv6 address too, an IPv6 address its /48', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.5')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1234:5678::1')).toBe('2001:db8:1234::/48');
    expect(networkOf('2001:DB8:1234:ffff:1:2:3:4')).toBe('2001:db8:1234::/48');
    // Zeros compressed anywhere, leading zeros of a group dropped: one block, one name.
    expect(networkOf('2001:0db8::9')).toBe('2001:db8:0::/48');
    expect(networkOf('2001:db8:0:1::9')).toBe(networkOf('2001:db8::1:0:0:9'));
    expect(networkOf('::1')).toBe('0:0:0::/48');
    expect(networkOf('2001:db8:1::1')).not.toBe(networkOf('2001:db8:2::1'));
  });
});
