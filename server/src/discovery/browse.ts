/**
 * [N2] Finding masters on the local network: browse `_barnraise._tcp` for a while and return every master
 * that answered and has not said goodbye.
 */
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { Bonjour, type Service } from 'bonjour-service';
import { isAdvertTxt, mdnsSocketOptions, SERVICE_TYPE, type MdnsSettings } from './service.ts';

/** A master that answered. */
export interface DiscoveredMaster {
  /** Its DNS-SD instance name ("<title> on <host>:<port>"). */
  name: string;
  title: string;
  /** Where to reach it: the address its answer came from, which is on our link. */
  url: string;
  joinKeyRequired: boolean;
  /** The volunteer protocol version it speaks. */
  protocol: number;
}

/** The master a browsed service describes, or undefined when it is not one (another program's, or malformed). */
export function masterOf(service: Service): DiscoveredMaster | undefined {
  const txt: unknown = service.txt;
  if (!isAdvertTxt(txt)) return undefined;
  const address = service.referer?.address ?? service.addresses?.find((a) => net.isIPv4(a));
  if (address === undefined) return undefined;
  const host = net.isIPv6(address) ? `[${address}]` : address;
  return { name: service.name, title: txt.title, url: `http://${host}:${service.port}${txt.path}`, joinKeyRequired: txt.key === 'required', protocol: Number(txt.proto) };
}

export interface BrowseOptions {
  /** How long to listen; every master's answer must have come by then. */
  timeoutMs: number;
  mdns: MdnsSettings;
}

/**
 * Browse for `timeoutMs` and return the masters found, sorted by name. Rejects when the socket cannot listen
 * (the port taken by a program that does not share it, no permission).
 */
export async function discoverMasters(opts: BrowseOptions): Promise<DiscoveredMaster[]> {
  let failed: ((err: Error) => void) | undefined;
  const bonjour = new Bonjour(mdnsSocketOptions(opts.mdns), (err: Error) => failed?.(err));
  // See advertise.ts: an unheard 'error' from multicast-dns would end the process.
  const socket = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
  const browser = bonjour.find({ type: SERVICE_TYPE });
  // One query can be lost on a busy network: ask again every second while listening.
  const again = setInterval(() => browser.update(), 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, opts.timeoutMs);
      failed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      // on, not once: multicast-dns emits a failed bind twice (its socket's error, then the bind's).
      socket.on('error', failed);
    });
    const found = browser.services.map(masterOf).filter((m): m is DiscoveredMaster => m !== undefined);
    const byName = new Map(found.map((m) => [m.name, m]));
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    clearInterval(again);
    browser.stop();
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
  }
}
