/**
 * The network a volunteer connects from, as replica placement (rule V6) and the new-identity limit (V2)
 * see it: an IPv4 /24 or an IPv6 /48. Addresses in one such block usually share an owner (a home, a
 * campus, a cloud tenant), so two replicas from one block are not independent evidence.
 */
import net from 'node:net';

export function networkOf(address: string): string {
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (net.isIPv4(mapped)) return `${mapped.split('.').slice(0, 3).join('.')}.0/24`;
  if (net.isIPv6(address)) return `${expandIPv6(address).slice(0, 3).join(':')}::/48`;
  return address; // not an IP (a test transport): its own network
}

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  return [...h, ...Array<string>(Math.max(0, missing)).fill('0'), ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
