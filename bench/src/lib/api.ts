/** The operator's REST API as the suite uses it: submit a job, poll it, typed with the shared schemas. */
import type { CreateJobBody, IdentityPage, IdentityRow, JobSummary, ResultLine } from '@barnraise/shared';
import { sleep } from './proc.ts';

export class Api {
  private readonly headers: Record<string, string>;
  constructor(
    readonly url: string,
    token: string,
  ) {
    this.headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  }

  /** POST /api/jobs with a body already encoded (so encoding is not timed), expecting 201. */
  async createJobRaw(json: string): Promise<JobSummary> {
    const res = await fetch(`${this.url}/api/jobs`, { method: 'POST', headers: this.headers, body: json, signal: AbortSignal.timeout(120_000) });
    if (res.status !== 201) throw new Error(`POST /api/jobs: ${res.status} ${(await res.text()).slice(0, 500)}`);
    return (await res.json()) as JobSummary;
  }

  createJob(body: CreateJobBody): Promise<JobSummary> {
    return this.createJobRaw(JSON.stringify(body));
  }

  async job(id: string): Promise<JobSummary> {
    const res = await fetch(`${this.url}/api/jobs/${id}`, { headers: this.headers, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`GET /api/jobs/${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as JobSummary;
  }

  async cancel(id: string): Promise<void> {
    await fetch(`${this.url}/api/jobs/${id}/cancel`, { method: 'POST', headers: { authorization: this.headers.authorization! }, signal: AbortSignal.timeout(30_000) });
  }

  /** GET /api/jobs/:id/results: every line of the (finished) job's NDJSON stream. */
  async results(id: string): Promise<ResultLine[]> {
    const res = await fetch(`${this.url}/api/jobs/${id}/results`, { headers: this.headers, signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`GET /api/jobs/${id}/results: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ResultLine);
  }

  /** GET /api/identities, every page. */
  async identities(): Promise<IdentityRow[]> {
    const rows: IdentityRow[] = [];
    for (let offset = 0; offset < 1_000_000; ) {
      const res = await fetch(`${this.url}/api/identities?offset=${offset}&limit=200`, { headers: this.headers, signal: AbortSignal.timeout(30_000) });
      if (!res.ok) throw new Error(`GET /api/identities: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as IdentityPage;
      rows.push(...page.rows);
      offset += page.rows.length;
      if (page.rows.length === 0 || offset >= page.total) break;
    }
    return rows;
  }

  /** Public swarm totals. */
  async stats(): Promise<{ volunteers: number; threads: number; queued: number; leased: number }> {
    const res = await fetch(`${this.url}/api/stats`, { signal: AbortSignal.timeout(30_000) });
    return (await res.json()) as { volunteers: number; threads: number; queued: number; leased: number };
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
