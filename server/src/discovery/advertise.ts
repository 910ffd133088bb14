/**
 * [N1] The master advertises itself on the local network as `_barnraise._tcp` (DNS-SD over multicast DNS,
 * through bonjour-service), so that `barnraise worker` with no `--url` finds it, as hurricane's nodes found
 * their master. Stopping sends the goodbye (the records again with TTL 0), so browsers forget it at once
 * instead of after the records' TTL.
 */
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import { Bonjour } from 'bonjour-service';
import { PROTOCOL_VERSION } from '@barnraise/shared';
import { isLoopbackHost, mdnsSocketOptions, SERVICE_TYPE, type AdvertTxt, type MdnsSettings } from './service.ts';

export interface AdvertiseOptions {
  /** The port the master listens on. */
  port: number;
  title: string;
  joinKeyRequired: boolean;
  mdns: MdnsSettings;
  /** A socket or send failure: logged, never fatal (the master serves whether or not it is advertised). */
  onError: (err: Error) => void;
}

/** A running advertisement. */
export interface Advertisement {
  /** The DNS-SD instance name, as workers list it. */
  readonly name: string;
  /** Send the goodbye and close the socket; resolves within a second whatever the network does. */
  stop(): Promise<void>;
}

/** DNS labels are at most 63 bytes; the host and port keep two masters of one title apart. */
export function instanceName(title: string, port: number, hostname = os.hostname()): string {
  const where = ` on ${hostname.split('.')[0]}:${port}`;
  let head = title.replace(/\./g, ' ').trim() || 'Barnraise';
  while (Buffer.byteLength(head + where) > 63) head = head.slice(0, -1);
  return head + where;
}

/**
 * Whether this master advertises: `BARNRAISE_MDNS` when set; otherwise yes unless it listens on a loopback
 * address only, where nobody else could reach it (so the test suite's many masters stay quiet).
 */
export function shouldAdvertise(mdns: boolean | undefined, host: string): boolean {
  return mdns ?? !isLoopbackHost(host);
}

/** Start advertising this master. */
export function advertiseMaster(opts: AdvertiseOptions): Advertisement {
  let failed = false;
  const bonjour = new Bonjour(mdnsSocketOptions(opts.mdns), (err: Error) => failed || opts.onError(err));
  // multicast-dns emits 'error' when it cannot bind (EADDRINUSE, EACCES), and bonjour-service does not
  // listen for it: unheard, that event would end the master's process. Its socket will never work then, so
  // the advertisement ends there, said once rather than at every send.
  const socket = (bonjour as unknown as { server: { mdns: EventEmitter } }).server.mdns;
  socket.on('error', (err: Error) => {
    if (failed) return;
    failed = true;
    opts.onError(err);
    bonjour.destroy();
  });
  socket.on('warning', (err: Error) => failed || opts.onError(err));
  const txt: AdvertTxt = { txtvers: '1', proto: String(PROTOCOL_VERSION), title: opts.title, key: opts.joinKeyRequired ? 'required' : 'none', path: '/' };
  const name = instanceName(opts.title, opts.port);
  const service = bonjour.publish({ name, type: SERVICE_TYPE, port: opts.port, txt, disableIPv6: true });
  let stopping: Promise<void> | undefined;
  return {
    name,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        // A socket that failed is closed already: there is nobody to say goodbye to.
        if (failed) return resolve();
        let finished = false;
        const done = setTimeout(finish, 1000);
        function finish() {
          if (finished) return;
          finished = true;
          clearTimeout(done);
          bonjour.destroy(() => resolve());
        }
        try {
          service.stop?.(finish);
        } catch (err) {
          opts.onError(err as Error);
          finish();
        }
      })),
  };
}
