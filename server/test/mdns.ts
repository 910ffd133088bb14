/**
 * Multicast DNS on loopback for the discovery tests (rules N1, N2). Each test uses its own UDP port instead of
 * 5353, so it neither hears the machine's network nor is heard on it, and runs do not hear each other.
 *
 * Linux delivers multicast on `lo` between sockets that join the group there, with or without the interface's
 * MULTICAST flag (the kernel this was written on leaves it off). Where it does not, the probe turns the flag
 * on as root (`ip link set lo multicast on`) and the test turns it back off afterwards.
 */
import { execFileSync } from 'node:child_process';
import { advertiseMaster } from '../src/discovery/advertise.ts';
import { discoverMasters } from '../src/discovery/browse.ts';
import type { MdnsSettings } from '../src/discovery/service.ts';

/** A UDP port of its own for one test's neighbourhood (above the ephemeral range's usual start, below its end). */
export function mdnsPort(): number {
  return 40_000 + Math.floor(Math.random() * 20_000);
}

export const LOOPBACK: Pick<MdnsSettings, 'interface'> = { interface: '127.0.0.1' };

/** True when an advertisement on loopback is heard by a browse on loopback within a few seconds. */
async function heard(): Promise<boolean> {
  const mdns = { ...LOOPBACK, port: mdnsPort() };
  const advert = advertiseMaster({ port: 1, title: 'probe', joinKeyRequired: false, mdns, onError: () => undefined });
  try {
    const found = await discoverMasters({ timeoutMs: 2500, mdns });
    return found.some((m) => m.name === advert.name);
  } finally {
    await advert.stop();
  }
}

const loMulticast = () => /<[^>]*\bMULTICAST\b/.test(execFileSync('ip', ['link', 'show', 'lo'], { encoding: 'utf8' }));

/**
 * Whether multicast works on loopback here, making it work as root if it can: `{ ok: true, restore }`
 * (call restore when done), or `{ ok: false, why }`.
 */
export async function loopbackMulticast(): Promise<{ ok: true; restore: () => void } | { ok: false; why: string }> {
  if (await heard()) return { ok: true, restore: () => undefined };
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  let flagged = false;
  try {
    flagged = loMulticast();
  } catch {
    return { ok: false, why: 'multicast on loopback is not delivered here, and `ip` is missing to look at why' };
  }
  if (flagged || !root) {
    return { ok: false, why: flagged ? 'multicast on loopback is not delivered here (a firewall on lo?)' : 'multicast on loopback needs `ip link set lo multicast on` (as root)' };
  }
  execFileSync('ip', ['link', 'set', 'lo', 'multicast', 'on']);
  const restore = () => execFileSync('ip', ['link', 'set', 'lo', 'multicast', 'off']);
  if (await heard()) return { ok: true, restore };
  restore();
  return { ok: false, why: 'multicast on loopback is not delivered here, even with lo flagged MULTICAST (a firewall on lo?)' };
}
