/**
 * [K7] A master's ear for job changes made on the others (sql/notifyJobs.ts): one connection of its own,
 * outside the pool, that LISTENs. Lost (a restart, a cut), it connects again with a growing pause, and says
 * "changed" once it is back, since notifications sent meanwhile are gone. What it hears only hurries the
 * periodic read of the active jobs (JobSync), which stays: behind PgBouncer in transaction mode, where LISTEN
 * does not work, or while this connection is down, that read is what keeps every master up to date.
 */
import pg from 'pg';
import { JOBS_CHANNEL } from './sql/notifyJobs.ts';

export interface JobsListenerOptions {
  url: string;
  schema: string;
  onChange(): void;
  onError?(err: Error): void;
  /** First pause before connecting again (ms); doubles to 30 times this. Default 250. */
  retryMs?: number;
}

export class JobsListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private delay: number;
  /** Resolves when the first connection is listening (or failed); tests wait on it. */
  readonly ready: Promise<void>;

  constructor(private readonly opts: JobsListenerOptions) {
    this.delay = opts.retryMs ?? 250;
    this.ready = this.connect(false);
  }

  /** The server process of the listening connection (tests end it to cut the connection). */
  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number } | null)?.processID;
  }

  private async connect(again: boolean): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.opts.url, keepAlive: true, application_name: 'barnraise-listen' });
    this.client = client;
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      // Closed while connecting: the connection's end is ours, not a fault to report.
      if (err && !this.stopped) this.opts.onError?.(err);
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      if (this.client === client) this.client = null;
      this.retry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (n) => {
      if (n.channel === JOBS_CHANNEL && n.payload === this.opts.schema) this.opts.onChange();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${JOBS_CHANNEL}`);
      if (this.stopped) return void (await client.end().catch(() => {}));
      this.delay = this.opts.retryMs ?? 250;
      // Anything told while this master was not listening is lost: read the jobs now.
      if (again) this.opts.onChange();
    } catch (err) {
      onLost(err as Error);
    }
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, (this.opts.retryMs ?? 250) * 30);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect(true);
    }, wait);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }
}
