/** The IPC side of a bench client: parse `--flag value` arguments, talk to the parent, exit with it. */
import { parseArgs } from 'node:util';

export type ParentMessage = { type: string; [key: string]: unknown };

/** Numeric and string flags of a client (all `--name value`). */
export function flags<const K extends string>(names: readonly K[]): Record<K, string | undefined> {
  const { values } = parseArgs({ options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])), strict: true });
  return values as Record<K, string | undefined>;
}

export function toParent(msg: ParentMessage): void {
  process.send?.(msg);
}

export function onParent(handler: (msg: ParentMessage) => void | Promise<void>): void {
  process.on('message', (m) => {
    Promise.resolve(handler(m as ParentMessage)).catch((err: unknown) => toParent({ type: 'error', message: String((err as Error)?.stack ?? err) }));
  });
}

/**
 * Leave when the parent says so (SIGTERM) or goes away (IPC closed): a client never outlives its run.
 * `cleanup` gets a few seconds.
 */
export function exitWithParent(cleanup: () => void | Promise<void>): void {
  let leaving = false;
  const leave = () => {
    if (leaving) return;
    leaving = true;
    const hard = setTimeout(() => process.exit(0), 5000);
    hard.unref();
    Promise.resolve(cleanup())
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', leave);
  process.once('SIGINT', leave);
  process.once('disconnect', leave);
}

/** Report a startup failure to the parent and exit. */
export function fail(err: unknown): never {
  toParent({ type: 'error', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
}
