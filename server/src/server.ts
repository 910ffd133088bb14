/** Starting and stopping the master: open the store, build the app, listen, drain on SIGTERM. */
import net from 'node:net';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { resolveToken } from './auth.ts';
import type { Config } from './config.ts';
import { advertiseMaster, shouldAdvertise, type Advertisement } from './discovery/advertise.ts';
import type { IdempotencyKeys } from './security/idempotency.ts';
import type { Store } from './store/store.ts';
import { ThreadedStore } from './store/threaded.ts';
import { effectiveVouchKey, startLocalWorkers } from './worker/local.ts';

export const DB_FILE = 'barnraise.db';

let logIdleErrors: (err: Error) => void = (err) => console.error('an idle PostgreSQL connection failed:', err.message);

/**
 * The store the configuration asks for: PostgreSQL when a database URL is set (idempotency keys there too,
 * so that masters sharing it share them), else SQLite in the data dir on its own thread.
 */
async function openStore(config: Config): Promise<{ store: Store; idempotency?: IdempotencyKeys }> {
  if (config.databaseUrl === undefined) return { store: await ThreadedStore.open({ file: path.join(config.dataDir, DB_FILE) }) };
  // pg and its modules load only for a cluster master: an embedded one starts without them.
  const [{ PgStore }, { pgIdempotencyKeys }] = await Promise.all([import('./store/postgres/pg-store.ts'), import('./store/postgres/idempotency.ts')]);
  const store = await PgStore.open({ url: config.databaseUrl, schema: config.databaseSchema, onIdleError: (err) => logIdleErrors(err) });
  return { store, idempotency: pgIdempotencyKeys(store.pool) };
}

export interface RunningMaster {
  app: FastifyInstance;
  url: string;
  /** Stop leasing, close volunteers, flush, close the store. */
  shutdown(): Promise<void>;
}

export async function startMaster(config: Config): Promise<RunningMaster> {
  const { token, file, generated } = resolveToken(config.token, config.dataDir);
  const { store, idempotency } = await openStore(config);
  // [N3] Local workers are vouched for: by the operator's key, or by one only this process knows.
  const vouchKey = effectiveVouchKey(config.vouchKey, config.localWorkers);
  const app = await buildApp({ config: { ...config, vouchKey }, store, token, ...(idempotency ? { idempotency } : {}) });
  logIdleErrors = (err) => app.log.warn({ err }, 'an idle PostgreSQL connection failed; the pool replaces it');
  if (generated) {
    // Printed once, on the start that created it; later starts only say where it is.
    process.stdout.write(`\nOperator token (saved in ${file}, readable only by you):\n\n  ${token}\n\n`);
  } else if (file) {
    app.log.info(`operator token is in ${file}`);
  }
  await app.listen({ port: config.port, host: config.host });
  const bound = app.server.address() as net.AddressInfo;
  const url = loopbackUrl(bound);
  const advert = advertise(app, config, bound.port);
  const local =
    config.localWorkers > 0
      ? startLocalWorkers({ url, threads: config.localWorkers, joinKey: config.joinKey, vouchKey: vouchKey!, dataDir: config.dataDir, log: (msg) => app.log.info(msg) })
      : undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      // Goodbye on the network first, so no worker finds a master that is going; the local workers hand
      // their leases back (rule L6) before the drain would close them and they would reconnect.
      await Promise.all([advert?.stop(), local?.stop()]);
      app.draining = true;
      await app.scheduler.drain();
      await app.jobs.followersEnded(5000);
      await app.close();
      await store.close();
    })());
  return { app, url, shutdown };
}

/** This master's URL as seen from its own machine: a wildcard bind is reached over loopback. */
function loopbackUrl(bound: net.AddressInfo): string {
  const host = bound.address === '0.0.0.0' ? '127.0.0.1' : bound.address === '::' ? '::1' : bound.address;
  return `http://${net.isIPv6(host) ? `[${host}]` : host}:${bound.port}`;
}

/** [N1] Advertise on the local network unless told not to; a master bound to one IPv4 address advertises there. */
function advertise(app: FastifyInstance, config: Config, port: number): Advertisement | undefined {
  if (!shouldAdvertise(config.mdns, config.host)) return undefined;
  const own = net.isIPv4(config.host) && config.host !== '0.0.0.0' ? config.host : undefined;
  const advert = advertiseMaster({
    port,
    title: config.title,
    joinKeyRequired: config.joinKey !== undefined,
    mdns: { ...config.mdnsSettings, interface: config.mdnsSettings.interface ?? own },
    onError: (err) => app.log.warn({ err }, 'multicast DNS (advertising this master on the local network) failed'),
  });
  app.log.info(`advertised on the local network as "${advert.name}" (_barnraise._tcp; BARNRAISE_MDNS=0 turns it off)`);
  return advert;
}

/**
 * A drain that cannot finish (a store that keeps failing) must not keep the process up forever: after
 * this long it exits anyway, and the restart recovers from the store as after a crash (rule D3).
 */
export const DRAIN_DEADLINE_MS = 15_000;

/** [S11] Drain on SIGTERM/SIGINT, then exit. */
export function exitOnSignals(master: RunningMaster): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      master.app.log.info({ signal }, 'draining');
      setTimeout(() => {
        master.app.log.error({ signal }, `drain did not finish in ${DRAIN_DEADLINE_MS} ms; exiting`);
        process.exit(1);
      }, DRAIN_DEADLINE_MS).unref();
      master.shutdown().then(
        () => process.exit(0),
        (err) => {
          master.app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
