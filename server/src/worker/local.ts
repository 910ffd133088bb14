/**
 * [N3] `barnraise serve --local-workers N`: N compute threads beside the master, as distributed-worker's
 * manager created local workers on the operator's own machine. They join over loopback like any headless
 * volunteer (one connection with N threads), proving an identity kept in the data dir and vouched under the
 * master's vouch key, so their results count as the operator's own machine's (rule V3).
 *
 * They run in the master's process, not a child: a master killed with -9 takes its threads with it, so no
 * worker is left behind reconnecting to nothing. The price is the volunteer's end of the socket on the
 * master's event loop; the tasks themselves run on worker_threads.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ASSETS_DIR } from '../assets/store.ts';
import { LOCAL_WORKER_MARK } from '../feed/agent.ts';
import { fileIdentity } from './identity.ts';
import { HeadlessVolunteer } from './volunteer.ts';

/** The User-Agent local workers report: the volunteers table shows them as Node.js on "this master". */
export const LOCAL_WORKER_UA = `node/${process.versions.node} ${LOCAL_WORKER_MARK}`;

/** Where the local workers' identity lives, so the trust record stays the same across restarts. */
export const LOCAL_IDENTITY_FILE = 'local-worker-identity.json';

/**
 * The vouch key the master checks: the operator's when set; with local workers and none set, a random one
 * that only this process knows (it vouches for its own threads and nobody else).
 */
export function effectiveVouchKey(vouchKey: string | undefined, localWorkers: number): string | undefined {
  return vouchKey ?? (localWorkers > 0 ? randomBytes(32).toString('base64url') : undefined);
}

export interface LocalWorkersOptions {
  /** The master's own URL over loopback. */
  url: string;
  threads: number;
  joinKey: string | undefined;
  vouchKey: string;
  dataDir: string;
  log: (msg: string) => void;
}

/** Start the local workers; `stop()` on the result hands their leases back (rule L6) and ends the threads. */
export function startLocalWorkers(opts: LocalWorkersOptions): HeadlessVolunteer {
  const volunteer = new HeadlessVolunteer({
    url: opts.url,
    threads: opts.threads,
    joinKey: opts.joinKey,
    identity: fileIdentity(path.join(opts.dataDir, LOCAL_IDENTITY_FILE), opts.vouchKey),
    ua: LOCAL_WORKER_UA,
    // [A4] The master's own asset files are their cache: checked by hash like any, never downloaded.
    assetCacheDir: path.join(opts.dataDir, ASSETS_DIR),
    log: (msg) => opts.log(`local workers: ${msg}`),
    onFatal: (code, reason) => opts.log(`local workers: refused by this master (${code}: ${reason}); they stay stopped`),
  });
  volunteer.start();
  return volunteer;
}
