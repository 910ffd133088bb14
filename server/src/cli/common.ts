/** What the job commands share: exit codes, the connection to a master, flag parsers and error reporting. */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { Barnraise, BarnraiseError, type JobSummary } from '@barnraise/client';

/** Exit codes of the job commands. */
export const Exit = {
  /** Every task done. */
  ok: 0,
  /** Some task failed. */
  someFailed: 1,
  /** A usage mistake, or the master could not be reached or refused the request. */
  error: 2,
  /** The job was cancelled (Ctrl-C, or someone else). */
  cancelled: 130,
} as const;

/** A mistake to report in one line, without a stack (exit 2). */
export class CliError extends Error {}

/** Ctrl-C ended the command after it had tidied up (exit 130). */
export class Interrupted extends Error {}

export interface ConnectionFlags {
  url?: string;
  token?: string;
}

/** Where `npm start` saves the operator token: tried when neither --token nor BARNRAISE_TOKEN gives one. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.BARNRAISE_DATA_DIR ?? './data', 'operator-token');
}

/** The master and token: flags, else BARNRAISE_URL / BARNRAISE_TOKEN, else 127.0.0.1:8080 and the saved token. */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): { url: string; token: string | undefined } {
  const url = flags.url ?? env.BARNRAISE_URL ?? 'http://127.0.0.1:8080';
  let token = flags.token ?? env.BARNRAISE_TOKEN;
  if (!token) {
    try {
      token = fs.readFileSync(defaultTokenFile(env), 'utf8').trim() || undefined;
    } catch {
      // Not there or not readable: the master will say 401, which says what to do.
    }
  }
  return { url, token };
}

export function connect(flags: ConnectionFlags): Barnraise {
  return new Barnraise(resolveConnection(flags));
}

/** Add --url and --token to a command. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('-u, --url <url>', 'the master (BARNRAISE_URL, default http://127.0.0.1:8080)')
    .option('--token <token>', `operator token (BARNRAISE_TOKEN, default: the file ${defaultTokenFile()})`);
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds from `500ms`, `30s`, `2m`, `1h` (a bare number is seconds). */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('a duration such as 500ms, 30s, 2m or 1h');
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
}

/** Seconds as `1h02m`, `3m05s`, `42s`. */
export function formatSeconds(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '?';
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
}

/** One line about a job: `j_… "name" running: 120 done, 2 failed of 1000`. */
export function describeJob(s: JobSummary): string {
  const left = s.total - s.counts.done - s.counts.failed;
  const rest = left > 0 ? `, ${left} ${s.status === 'cancelled' ? 'not run' : 'to go'}` : '';
  return `${s.id} "${s.name}" ${s.status}: ${s.counts.done} done, ${s.counts.failed} failed of ${s.total}${rest}`;
}

/** The exit code a job's final summary calls for. */
export function exitCodeOf(s: JobSummary): number {
  if (s.status === 'cancelled') return Exit.cancelled;
  return s.counts.failed > 0 ? Exit.someFailed : Exit.ok;
}

/** Wrap a command's action: its resolved number is the exit code; a known error is one line on stderr and exit 2. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args) => {
    let code: number;
    try {
      code = await fn(...args);
    } catch (err) {
      if (!(err instanceof CliError || err instanceof BarnraiseError || err instanceof Interrupted)) throw err;
      process.stderr.write(`barnraise: ${err.message}${err instanceof BarnraiseError ? ` (${err.code})` : ''}\n`);
      code = err instanceof Interrupted ? Exit.cancelled : Exit.error;
    }
    // Open keep-alive sockets and timers would hold the process; everything it wrote is out (stdout and
    // stderr are synchronous for files, pipes and terminals on Linux; --out files are closed before this).
    process.exit(code);
  };
}
