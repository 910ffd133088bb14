/**
 * What a master says about itself on the local network (DNS-SD over multicast DNS, rule N1): the service
 * type, the TXT record, and the socket options both sides use. The advertisement is public to anyone on the
 * link, so it says whether a join key is needed and never the key.
 */
import net from 'node:net';
import os from 'node:os';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** `_barnraise._tcp.local`. */
export const SERVICE_TYPE = 'barnraise';

/** The TXT record of a master's advertisement (RFC 6763 §6: short keys, string values, `txtvers` first). */
export const AdvertTxtSchema = Type.Object({
  txtvers: Type.Literal('1'),
  /** The volunteer protocol version it speaks (PROTOCOL_VERSION). */
  proto: Type.String({ pattern: '^[0-9]+$' }),
  /** The master's title, as its page shows it. */
  title: Type.String(),
  /** Whether volunteers need the join key of a private swarm (rule S3). */
  key: Type.Union([Type.Literal('required'), Type.Literal('none')]),
  /** The page's path on the master (its URL is http://<address>:<port><path>). */
  path: Type.String({ pattern: '^/' }),
});
export type AdvertTxt = Static<typeof AdvertTxtSchema>;
const checkTxt = TypeCompiler.Compile(AdvertTxtSchema);

/** True when `txt` is a Barnraise master's TXT record (another program may use the type, or a newer one). */
export function isAdvertTxt(txt: unknown): txt is AdvertTxt {
  return checkTxt.Check(txt);
}

/** Where multicast DNS listens and sends: every interface on port 5353 unless told otherwise. */
export interface MdnsSettings {
  /** IPv4 address of the one interface to use (e.g. 127.0.0.1); unset: all of them. */
  interface: string | undefined;
  /** UDP port; 5353 is mDNS's own. Another port makes a separate neighbourhood (tests use one each). */
  port: number;
}

export const MDNS_PORT = 5353;

/** An interface's IPv4 address from the address itself or the interface's name (`eth0`). */
function interfaceAddress(value: string | undefined): string | undefined {
  if (value === undefined || net.isIPv4(value)) return value;
  const address = os.networkInterfaces()[value]?.find((a) => a.family === 'IPv4')?.address;
  if (address === undefined) throw new Error(`BARNRAISE_MDNS_INTERFACE must be an IPv4 address or the name of an interface with one, got "${value}"`);
  return address;
}

/** The settings from `BARNRAISE_MDNS_INTERFACE` and `BARNRAISE_MDNS_PORT`. */
export function mdnsSettingsFrom(env: NodeJS.ProcessEnv): MdnsSettings {
  const iface = interfaceAddress(env.BARNRAISE_MDNS_INTERFACE || undefined);
  const port = env.BARNRAISE_MDNS_PORT ? Number(env.BARNRAISE_MDNS_PORT) : MDNS_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`BARNRAISE_MDNS_PORT must be a port number, got "${env.BARNRAISE_MDNS_PORT}"`);
  return { interface: iface, port };
}

/**
 * Options for multicast-dns. With one interface the socket still binds the wildcard address: on Linux a
 * socket bound to 127.0.0.1 receives nothing sent to the group 224.0.0.251.
 */
export function mdnsSocketOptions(s: MdnsSettings): { port: number; interface?: string; bind?: string } {
  return s.interface === undefined ? { port: s.port } : { port: s.port, interface: s.interface, bind: '0.0.0.0' };
}

/** True for an address only this machine can reach (a master bound there is pointless to advertise). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
