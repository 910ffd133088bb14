/** Every setting of the master in one place: environment variables, overridden by CLI flags. */
import path from 'node:path';
import { mdnsSettingsFrom, type MdnsSettings } from './discovery/service.ts';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /**
   * PostgreSQL to keep jobs, results and idempotency keys in (`postgres://...`); unset: SQLite in dataDir.
   * The operator token stays in dataDir either way.
   */
  databaseUrl: string | undefined;
  /** Schema in that database holding every table (created when missing). */
  databaseSchema: string;
  /** Operator token; undefined means "read or generate the one in dataDir". */
  token: string | undefined;
  title: string;
  description: string;
  /** Volunteers send a heartbeat this often (ms). */
  heartbeatMs: number;
  /** A volunteer silent this long is gone; its leases are requeued (rule H2). */
  heartbeatTimeoutMs: number;
  /** [P5] Volunteers holding no lease beat this often (ms): idle connections cost the master little. */
  idleHeartbeatMs: number;
  /** How long finished jobs stay on disk. */
  retentionDays: number;
  /** Group-commit window (ms): results wait at most this long before their transaction. */
  commitIntervalMs: number;
  /** Largest REST body in bytes (a job carries all of its inputs). */
  bodyLimitBytes: number;
  /** Largest asset in bytes (`PUT /api/assets/<sha256>`, section A). */
  assetMaxBytes: number;
  /** Most bytes all assets together may take on this master's disk; undefined: what the disk holds. */
  assetMaxTotalBytes: number | undefined;
  /** Cap on simultaneous volunteer connections. */
  maxConnections: number;
  /** Cap on simultaneous volunteer connections from one address. */
  maxConnectionsPerAddress: number;
  /** Volunteer connections one address may open per second, sustained (token bucket refill). */
  connectPerSecond: number;
  /** Volunteer connections one address may open in a burst (token bucket size). */
  connectBurst: number;
  /** When set, only volunteers whose socket URL carries `?key=<joinKey>` may join (a private swarm). */
  joinKey: string | undefined;
  /**
   * Which proxies to believe about the client's address (X-Forwarded-For), as Fastify's `trustProxy`:
   * false (none), true (any), a hop count, or a comma-separated list of addresses/CIDRs. Per-address
   * limits need it behind a reverse proxy, where every client otherwise has the proxy's address.
   */
  trustProxy: boolean | number | string;
  /** REST requests per minute per address without a valid operator token (pages, stats, failed auth). */
  rateLimitPerMinute: number;
  /** REST requests per minute per address with a valid operator token. */
  operatorRateLimitPerMinute: number;
  /** A token of its own for Prometheus scrapers: opens GET /metrics and nothing else (the operator token opens it too). */
  metricsToken: string | undefined;
  /** Log level for pino. */
  logLevel: string;
  /** The validation mode of a job that names none (section V): `none` keeps a private swarm free of its cost. */
  validation: 'none' | 'adaptive' | 'strict';
  /** New identities one network (IPv4 /24, IPv6 /48) may create per hour, sustained, and in a burst (rule V2). */
  newIdentitiesPerHour: number;
  newIdentitiesBurst: number;
  /** The operator's vouch key: headless workers given it are trusted from the start (rule V3). */
  vouchKey: string | undefined;
  /** [K2] How often this master beats into the store, and how long a silent master lives on (its claims held). */
  beatMs: number;
  claimTtlMs: number;
  /** [K7] How often this master reads the store's active jobs (new, cancelled or finished on other masters). */
  syncMs: number;
  /** Where the other masters of a cluster reach this one (its own REST API); default: http://<host>:<port>. */
  advertiseUrl: string | undefined;
  /** [N1] Advertise on the local network (DNS-SD over mDNS); undefined: unless bound to a loopback address. */
  mdns: boolean | undefined;
  /** [N1] Which interface and UDP port multicast DNS uses (BARNRAISE_MDNS_INTERFACE, BARNRAISE_MDNS_PORT). */
  mdnsSettings: MdnsSettings;
  /** [N3] Compute threads run beside the master on this machine, vouched as the operator's own. */
  localWorkers: number;
  /** Seeds validation's random draws (spot checks, known-answer checks), so a benchmark run replays; unset: Math.random. */
  randomSeed: number | undefined;
}

export type ConfigOverrides = Partial<Config>;

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${value}"`);
  return n;
}

function trustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function onOff(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'on', 'yes'].includes(value)) return true;
  if (['0', 'false', 'off', 'no'].includes(value)) return false;
  throw new Error(`${name} must be 1 or 0, got "${value}"`);
}

function validationMode(value: string | undefined): Config['validation'] {
  if (value === undefined || value === '') return 'none';
  if (value === 'none' || value === 'adaptive' || value === 'strict') return value;
  throw new Error(`BARNRAISE_VALIDATION must be none, adaptive or strict, got "${value}"`);
}

/** Read the configuration from `env`, then apply `overrides` (CLI flags, tests). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const heartbeatMs = int(env.BARNRAISE_HEARTBEAT_MS, 2000, 'BARNRAISE_HEARTBEAT_MS');
  const base: Config = {
    port: int(env.PORT, 8080, 'PORT'),
    host: env.HOST || '0.0.0.0',
    dataDir: path.resolve(env.BARNRAISE_DATA_DIR || './data'),
    databaseUrl: env.BARNRAISE_DATABASE_URL || undefined,
    databaseSchema: env.BARNRAISE_DATABASE_SCHEMA || 'barnraise',
    token: env.BARNRAISE_TOKEN || undefined,
    title: env.BARNRAISE_TITLE || 'Barnraise',
    description: env.BARNRAISE_DESCRIPTION || 'Lend this computer\'s spare CPU to a shared computation.',
    heartbeatMs,
    heartbeatTimeoutMs: int(env.BARNRAISE_HEARTBEAT_TIMEOUT_MS, heartbeatMs * 4, 'BARNRAISE_HEARTBEAT_TIMEOUT_MS'),
    idleHeartbeatMs: int(env.BARNRAISE_IDLE_HEARTBEAT_MS, Math.round(heartbeatMs * 7.5), 'BARNRAISE_IDLE_HEARTBEAT_MS'),
    retentionDays: int(env.BARNRAISE_RETENTION_DAYS, 30, 'BARNRAISE_RETENTION_DAYS'),
    commitIntervalMs: int(env.BARNRAISE_COMMIT_INTERVAL_MS, 10, 'BARNRAISE_COMMIT_INTERVAL_MS'),
    bodyLimitBytes: int(env.BARNRAISE_BODY_LIMIT_BYTES, 256 * 1024 * 1024, 'BARNRAISE_BODY_LIMIT_BYTES'),
    // Room for a Python interpreter with its standard library, or a large shared data file.
    assetMaxBytes: int(env.BARNRAISE_ASSET_MAX_BYTES, 256 * 1024 * 1024, 'BARNRAISE_ASSET_MAX_BYTES'),
    assetMaxTotalBytes: env.BARNRAISE_ASSET_MAX_TOTAL_BYTES ? int(env.BARNRAISE_ASSET_MAX_TOTAL_BYTES, 0, 'BARNRAISE_ASSET_MAX_TOTAL_BYTES') : undefined,
    maxConnections: int(env.BARNRAISE_MAX_CONNECTIONS, 20_000, 'BARNRAISE_MAX_CONNECTIONS'),
    // A classroom or an office shares one address: a few hundred tabs behind one NAT must still fit.
    maxConnectionsPerAddress: int(env.BARNRAISE_MAX_CONNECTIONS_PER_ADDRESS, 1000, 'BARNRAISE_MAX_CONNECTIONS_PER_ADDRESS'),
    connectPerSecond: int(env.BARNRAISE_CONNECT_PER_SECOND, 20, 'BARNRAISE_CONNECT_PER_SECOND'),
    connectBurst: int(env.BARNRAISE_CONNECT_BURST, 100, 'BARNRAISE_CONNECT_BURST'),
    joinKey: env.BARNRAISE_JOIN_KEY || undefined,
    trustProxy: trustProxy(env.BARNRAISE_TRUST_PROXY),
    // A volunteer tab polls /api/stats every 5 s and loads a handful of files: 3000/min leaves room for
    // ~200 tabs behind one address while a flood from one address is cut off within a second or two.
    rateLimitPerMinute: int(env.BARNRAISE_RATE_LIMIT, 3000, 'BARNRAISE_RATE_LIMIT'),
    operatorRateLimitPerMinute: int(env.BARNRAISE_OPERATOR_RATE_LIMIT, 12_000, 'BARNRAISE_OPERATOR_RATE_LIMIT'),
    metricsToken: env.BARNRAISE_METRICS_TOKEN || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    validation: validationMode(env.BARNRAISE_VALIDATION),
    // A classroom behind one address joins at once: 30 new identities, then 30 an hour (V2).
    newIdentitiesPerHour: int(env.BARNRAISE_NEW_IDENTITIES_PER_HOUR, 30, 'BARNRAISE_NEW_IDENTITIES_PER_HOUR'),
    newIdentitiesBurst: int(env.BARNRAISE_NEW_IDENTITIES_BURST, 30, 'BARNRAISE_NEW_IDENTITIES_BURST'),
    vouchKey: env.BARNRAISE_VOUCH_KEY || undefined,
    beatMs: int(env.BARNRAISE_BEAT_MS, 1000, 'BARNRAISE_BEAT_MS'),
    claimTtlMs: int(env.BARNRAISE_CLAIM_TTL_MS, 5000, 'BARNRAISE_CLAIM_TTL_MS'),
    syncMs: int(env.BARNRAISE_SYNC_MS, 1000, 'BARNRAISE_SYNC_MS'),
    advertiseUrl: env.BARNRAISE_ADVERTISE_URL || undefined,
    mdns: onOff(env.BARNRAISE_MDNS, 'BARNRAISE_MDNS'),
    mdnsSettings: mdnsSettingsFrom(env),
    localWorkers: int(env.BARNRAISE_LOCAL_WORKERS, 0, 'BARNRAISE_LOCAL_WORKERS'),
    randomSeed: env.BARNRAISE_RANDOM_SEED ? int(env.BARNRAISE_RANDOM_SEED, 0, 'BARNRAISE_RANDOM_SEED') : undefined,
  };
  const merged = { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  // Defaults derived from the heartbeat follow the heartbeat the overrides set, unless given themselves.
  if (overrides.heartbeatMs !== undefined) {
    if (overrides.heartbeatTimeoutMs === undefined && !env.BARNRAISE_HEARTBEAT_TIMEOUT_MS) merged.heartbeatTimeoutMs = merged.heartbeatMs * 4;
    if (overrides.idleHeartbeatMs === undefined && !env.BARNRAISE_IDLE_HEARTBEAT_MS) merged.idleHeartbeatMs = Math.round(merged.heartbeatMs * 7.5);
  }
  merged.dataDir = path.resolve(merged.dataDir);
  if (merged.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(merged.databaseUrl)) {
    throw new Error('BARNRAISE_DATABASE_URL (--database-url) must be a postgres:// URL');
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(merged.databaseSchema)) {
    throw new Error(`BARNRAISE_DATABASE_SCHEMA (--database-schema) must match [a-z_][a-z0-9_]*, got "${merged.databaseSchema}"`);
  }
  // [P5] A volunteer at work beats only into a silence, checked twice a beat: up to 1.5 beats can pass between
  // its frames. A timeout under twice the beat would drop live volunteers and requeue their work.
  if (merged.heartbeatTimeoutMs < 2 * merged.heartbeatMs) {
    throw new Error(`BARNRAISE_HEARTBEAT_TIMEOUT_MS must be at least twice the heartbeat (${2 * merged.heartbeatMs} ms), got ${merged.heartbeatTimeoutMs}`);
  }
  if (!Number.isInteger(merged.localWorkers) || merged.localWorkers < 0) {
    throw new Error(`BARNRAISE_LOCAL_WORKERS (--local-workers) must be a whole number, got "${merged.localWorkers}"`);
  }
  return merged;
}
