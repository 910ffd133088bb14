/** The `barnraise` command: `serve` runs the master, `worker` joins one as a headless volunteer. */
import os from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from './config.ts';
import { exitOnSignals, startMaster } from './server.ts';
import { HeadlessVolunteer } from './worker/volunteer.ts';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

const program = new Command('barnraise').description('Volunteer computing in the browser');

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
  .action(async (flags: { port?: number; host?: string; dataDir?: string; token?: string; title?: string; description?: string; retentionDays?: number; joinKey?: string; databaseUrl?: string; databaseSchema?: string }) => {
    const config = loadConfig(process.env, flags);
    const master = await startMaster(config);
    exitOnSignals(master);
  });

program
  .command('worker')
  .description('join a master as a headless volunteer running tasks on worker_threads (trusted code only)')
  .requiredOption('-u, --url <url>', 'the master, e.g. http://127.0.0.1:8080')
  .option('-n, --threads <n>', 'compute threads', positiveInt, Math.max(1, os.availableParallelism() - 1))
  .option('--prefetch <n>', 'leases held per thread (default: 2, up to 4 while tasks are short)', positiveInt)
  .option('-q, --quiet', 'log nothing')
  .option('--join-key <key>', 'join key of a private swarm (or put ?key=<key> in --url)')
  .action((flags: { url: string; threads: number; prefetch?: number; quiet?: boolean; joinKey?: string }) => {
    const volunteer = new HeadlessVolunteer({
      url: flags.url,
      threads: flags.threads,
      ...(flags.prefetch !== undefined ? { prefetch: flags.prefetch } : {}),
      joinKey: flags.joinKey,
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

await program.parseAsync();
