/**
 * The `barnraise` command: `serve` runs the master, `worker` joins one as a headless volunteer; `submit`, `run`,
 * `try`, `jobs`, `status`, `results`, `cancel` and `retry` are for the people who submit jobs (cli/).
 */
import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { registerJobCommands } from './cli/index.ts';
import { duration } from './cli/common.ts';
import { loadConfig } from './config.ts';
import { chooseMaster } from './discovery/choose.ts';
import { mdnsSettingsFrom, type MdnsSettings } from './discovery/service.ts';
import { defaultAssetCacheDir } from './worker/assets.ts';
import { defaultIdentityFile, fileIdentity } from './worker/identity.ts';
import { HeadlessVolunteer } from './worker/volunteer.ts';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

const wholeNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

const program = new Command('barnraise').description('Volunteer computing in the browser');
// A usage mistake exits 2, like any other error of the job commands: 1 means "some task failed" there.
program.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('serve', { isDefault: true })
  .description('run the master: REST API, volunteer hub and pages (env: PORT, HOST, BARNRAISE_*)')
  .option('-p, --port <port>', 'port to listen on (PORT, default 8080)', positiveInt)
  .option('-H, --host <host>', 'address to bind (HOST, default 0.0.0.0)')
  .option('-d, --data-dir <dir>', 'where the database and token live (BARNRAISE_DATA_DIR, default ./data)')
  .option('-t, --token <token>', 'operator token (BARNRAISE_TOKEN; generated and saved when unset)')
  .option('--title <title>', 'shown to volunteers (BARNRAISE_TITLE)')
  .option('--description <text>', 'shown to volunteers (BARNRAISE_DESCRIPTION)')
  .option('--retention-days <days>', 'keep finished jobs this long (BARNRAISE_RETENTION_DAYS, default 30)', positiveInt)
  .option('--join-key <key>', 'only volunteers whose page URL carries ?key=<key> may join (BARNRAISE_JOIN_KEY)')
  .option('--database-url <url>', 'keep jobs in PostgreSQL (postgres://...) instead of SQLite in the data dir (BARNRAISE_DATABASE_URL)')
  .option('--database-schema <name>', 'PostgreSQL schema for the tables (BARNRAISE_DATABASE_SCHEMA, default barnraise)')
  .option('--local-workers <n>', "run n compute threads beside the master, vouched as the operator's own machine (BARNRAISE_LOCAL_WORKERS)", wholeNumber)
  .option('--mdns', 'advertise this master on the local network, even bound to 127.0.0.1 (BARNRAISE_MDNS=1)')
  .option('--no-mdns', 'do not advertise this master on the local network (BARNRAISE_MDNS=0; default: advertise unless bound to loopback)')
  .action(async (flags: { port?: number; host?: string; dataDir?: string; token?: string; title?: string; description?: string; retentionDays?: number; joinKey?: string; databaseUrl?: string; databaseSchema?: string; localWorkers?: number; mdns?: boolean }) => {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(process.env, flags);
    } catch (err) {
      // A setting out of range is the operator's mistake, said in one line: a usage error (2), not a crash.
      process.stderr.write(`barnraise: ${(err as Error).message}\n`);
      process.exit(2);
    }
    // The master's modules (Fastify, the stores, metrics) load here, not at the top: `barnraise worker` and
    // the job commands start without them (about half of a worker's start).
    const { exitOnSignals, startMaster } = await import('./server.ts');
    const master = await startMaster(config);
    exitOnSignals(master);
  });

program
  .command('worker')
  .description('join a master as a headless volunteer running tasks on worker_threads (trusted code only)')
  .option('-u, --url <url...>', 'the master, e.g. http://127.0.0.1:8080; several masters of a cluster: the next is tried when one fails. Unset: find one on the local network')
  .option('-n, --threads <n>', 'compute threads', positiveInt, Math.max(1, os.availableParallelism() - 1))
  .option('--prefetch <n>', 'leases held per thread (default: 2, up to 4 while tasks are short)', positiveInt)
  .option('-q, --quiet', 'log nothing')
  .option('--join-key <key>', 'join key of a private swarm (or put ?key=<key> in --url)')
  .option('--identity <file>', `the volunteer identity's key file, created when missing (default ${defaultIdentityFile()})`)
  .option('--no-identity', 'join anonymously: only jobs that need no validation are given to this worker')
  .option('--vouch-key <key>', "the operator's vouch key (BARNRAISE_VOUCH_KEY): this worker is trusted from the start")
  .option('--cache <dir>', `where the assets jobs read are kept between runs, checked by hash (default ${defaultAssetCacheDir()})`)
  .option('--discover-timeout <duration>', 'without --url: how long to listen for masters on the local network (default 3s)', duration)
  .option('--pick <name>', 'without --url: join the discovered master of this name (as listed when several answer)')
  .action(async (flags: WorkerFlags) => {
    const url = flags.url ?? [await discoverOrExit(flags)];
    const vouchKey = flags.vouchKey ?? (process.env.BARNRAISE_VOUCH_KEY || undefined);
    const identityFile = typeof flags.identity === 'string' ? flags.identity : defaultIdentityFile();
    const identity = flags.identity === false ? undefined : fileIdentity(identityFile, vouchKey);
    identity?.catch((err: Error) => {
      console.error(`barnraise worker: ${err.message}`);
      process.exit(2);
    });
    const volunteer = new HeadlessVolunteer({
      url,
      threads: flags.threads,
      ...(flags.prefetch !== undefined ? { prefetch: flags.prefetch } : {}),
      ...(identity ? { identity } : {}),
      joinKey: flags.joinKey,
      ...(flags.cache !== undefined ? { assetCacheDir: flags.cache } : {}),
      log: flags.quiet ? undefined : (msg) => console.log(`[worker] ${msg}`),
      onFatal: (code, reason) => {
        console.error(`barnraise worker: the master refused this volunteer (${code}: ${reason})`);
        void volunteer.stop().then(() => process.exit(2));
      },
    });
    volunteer.start();
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => void volunteer.stop().then(() => process.exit(0)));
    }
  });

interface WorkerFlags {
  url?: string[];
  threads: number;
  prefetch?: number;
  quiet?: boolean;
  joinKey?: string;
  identity: string | boolean;
  vouchKey?: string;
  cache?: string;
  discoverTimeout?: number;
  pick?: string;
}

/** [N2] The one master on the local network (or the one --pick names), or exit saying why not. */
async function discoverOrExit(flags: WorkerFlags): Promise<string> {
  const say = (msg: string) => (flags.quiet ? undefined : console.log(`[worker] ${msg}`));
  const fail = (message: string, exitCode: number): never => {
    console.error(`barnraise worker: ${message}`);
    process.exit(exitCode);
  };
  const timeoutMs = flags.discoverTimeout ?? 3000;
  let mdns: MdnsSettings;
  try {
    mdns = mdnsSettingsFrom(process.env);
  } catch (err) {
    return fail((err as Error).message, 2);
  }
  say(`no --url: looking for masters on the local network for ${timeoutMs / 1000} s`);
  const { discoverMasters } = await import('./discovery/browse.ts');
  const found = await discoverMasters({ timeoutMs, mdns }).catch((err: Error) => fail(`cannot listen for masters on the local network (multicast DNS, UDP port ${mdns.port}): ${err.message}; give one with --url`, 1));
  const choice = chooseMaster(found, { pick: flags.pick, hasJoinKey: flags.joinKey !== undefined, waitedMs: timeoutMs });
  if (!choice.ok) return fail(choice.message, choice.exitCode);
  say(`found ${choice.master.name} at ${choice.master.url}`);
  return choice.master.url;
}

registerJobCommands(program);

await program.parseAsync();
