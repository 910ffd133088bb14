/**
 * The operator's REST API as the suite uses it, on @barnraise/client (`client` for the rest of it). One try
 * per call (a hidden retry would hide a failure inside a figure) and no Idempotency-Key (the old figures were
 * measured without its durable key write, and a benchmark submits each body once).
 */
import type { CreateJobBody, IdentityRow, JobSummary, ResultLine, Stats } from '@barnraise/shared';
import { Barnraise } from '@barnraise/client';
import { sleep } from './proc.ts';

const LONG_MS = 120_000;
const SHORT_MS = 30_000;

export class Api {
  readonly client: Barnraise;
  constructor(
    readonly url: string,
    token: string,
  ) {
    this.client = new Barnraise({ url, token, retries: 0 });
  }

  /** POST /api/jobs with a body already encoded (so encoding is not timed), expecting 201. */
  async createJobRaw(json: string): Promise<JobSummary> {
    return (await this.client.submitJson(json, { idempotencyKey: null, signal: AbortSignal.timeout(LONG_MS) })).summary!;
  }

  createJob(body: CreateJobBody): Promise<JobSummary> {
    return this.createJobRaw(JSON.stringify(body));
  }

  job(id: string): Promise<JobSummary> {
    return this.client.getJob(id, { signal: AbortSignal.timeout(SHORT_MS) });
  }

  async cancel(id: string): Promise<void> {
    await this.client.cancel(id, { signal: AbortSignal.timeout(SHORT_MS) });
  }

  /** GET /api/jobs/:id/results: every line of the (finished) job's NDJSON stream. */
  async results(id: string): Promise<ResultLine[]> {
    const lines: ResultLine[] = [];
    for await (const line of this.client.job(id).lines({ follow: false, signal: AbortSignal.timeout(LONG_MS) })) lines.push(line);
    return lines;
  }

  /** GET /api/identities, every page. */
  async identities(): Promise<IdentityRow[]> {
    const rows: IdentityRow[] = [];
    for await (const row of this.client.identities({ signal: AbortSignal.timeout(SHORT_MS) })) rows.push(row);
    return rows;
  }

  /** Swarm totals. */
  stats(): Promise<Stats> {
    return this.client.stats({ signal: AbortSignal.timeout(SHORT_MS) });
  }

  /**
   * Poll until the job is `completed` (the master reports that only once every result is durable) and
   * return the moment it was first seen so, with its summary. Throws after `timeoutMs`.
   */
  async waitCompleted(id: string, timeoutMs: number, everyMs = 20): Promise<{ at: number; job: JobSummary }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      const at = performance.now();
      if (job.status === 'completed' || job.status === 'cancelled') return { at, job };
      if (at > deadline) throw new Error(`job ${id} not completed within ${timeoutMs} ms: ${JSON.stringify(job.counts)}`);
      await sleep(everyMs);
    }
  }
}

/** The trivial task of the dispatch benchmark: input n gives n + 1. */
export const PLUS_ONE = 'export default (n) => n + 1';

/** Inputs 0..n-1. */
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
