/** `Barnraise`: the connection to one master, and the calls that are not about one job handle. */
import { assetPath, type CreateJobBody, type IdentityPage, type IdentityRow, type JobDetail, type JobList, type JobSummary, type Site, type Stats, type TaskDetailReply } from '@barnraise/shared';
import { assetSha256, openAssetFile } from './assets.ts';
import { ApiError, BarnraiseError, JobCancelledError, TaskError } from './errors.ts';
import { Http } from './http.ts';
import { Job, type CallOptions, type ResultsOptions } from './job.ts';

export interface BarnraiseOptions {
  /** The master, e.g. http://127.0.0.1:8080 (default: BARNRAISE_URL, or in a page the page's origin). */
  url?: string | undefined;
  /** The operator token (default: BARNRAISE_TOKEN). */
  token?: string | undefined;
  /** Further tries of a request that failed for a passing reason (no reply, 429, 502-504); default 3. */
  retries?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface SubmitOptions extends CallOptions {
  /**
   * Sent as Idempotency-Key; default a random UUID, the same for every retry of this submit. `null` sends
   * none (the master then skips its durable key write): a submit whose reply is lost is then not tried
   * again, since it may have made the job, and fails instead.
   */
  idempotencyKey?: string | null;
}

/** Job code: an ES module's source with a default export, or a self-contained function (it is sent as its source). */
export type JobCode = string | ((input: never, ctx: { index: number; progress(fraction: number): void }) => unknown);

export type MapOptions = Omit<CreateJobBody, 'code' | 'inputs'> & Pick<ResultsOptions, 'signal' | 'attempts'> & Pick<SubmitOptions, 'idempotencyKey'>;

/** Environment variables where there are any (Node, Deno, Bun); nothing in a browser. */
function env(name: string): string | undefined {
  return nodeProcess()?.env?.[name] || undefined;
}

/** Node's `process` where there is one; nothing in a browser. */
function nodeProcess(): { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } | undefined {
  return (globalThis as { process?: ReturnType<typeof nodeProcess> }).process;
}

function randomUUID(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // An insecure browser context (plain http) has no randomUUID: a version 4 UUID by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const identityPath = (id: string, rest = '') => `/api/identities/${encodeURIComponent(id)}${rest}`;

/** The module source of job code given as a function. */
export function moduleOf(code: JobCode): string {
  return typeof code === 'string' ? code : `export default ${code.toString()};\n`;
}

export class Barnraise {
  /** The master's base URL. */
  readonly url: string;
  private readonly http: Http;

  constructor(opts: BarnraiseOptions = {}) {
    const url = opts.url ?? env('BARNRAISE_URL') ?? (globalThis as { location?: { origin?: string } }).location?.origin;
    if (!url) throw new BarnraiseError('NO_URL', 'no master URL: pass { url } or set BARNRAISE_URL');
    this.url = url;
    const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.http = new Http(url, opts.token ?? env('BARNRAISE_TOKEN'), fetchFn, opts.retries ?? 3);
  }

  /**
   * Submit a job; resolves once the master has stored it. Extra fields beyond CreateJobBody (of features
   * newer than this client) are sent as they are. Aborting rejects at once; a job the master creates
   * anyway is then cancelled as soon as its reply comes.
   */
  async submit<B extends CreateJobBody>(body: B, opts: SubmitOptions = {}): Promise<Job> {
    return this.create({ json: body }, opts);
  }

  /**
   * `submit` with the body already encoded as JSON (a CreateJobBody), sent as it is: for a caller that
   * encodes once and submits many times, or times the request without the encoding (the benchmarks).
   */
  async submitJson(json: string, opts: SubmitOptions = {}): Promise<Job> {
    return this.create({ jsonText: json }, opts);
  }

  private async create(body: { json: unknown } | { jsonText: string }, opts: SubmitOptions): Promise<Job> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const key = opts.idempotencyKey === undefined ? randomUUID() : opts.idempotencyKey;
    const headers: Record<string, string> = key === null ? {} : { 'idempotency-key': key };
    // Not aborted by `signal`: once the body is sent the job may exist, and only its reply says which to cancel.
    const created = this.http.json<JobSummary>('POST', '/api/jobs', { ...body, headers, stopRetries: signal, notRepeatable: key === null });
    if (!signal) {
      const s = await created;
      return new Job(this.http, s.id, s);
    }
    return new Promise<Job>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        created.then((s) => new Job(this.http, s.id, s).cancel()).catch(() => undefined);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      created.then(
        (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(new Job(this.http, s.id, s));
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /**
   * Run `code` on every input; yields each output in input order as soon as it and those before it are
   * there. A failed task yields a TaskError in its place. Aborting `signal`, or leaving the loop early,
   * cancels the job on the master. Throws JobCancelledError if someone else cancels it.
   */
  async *map(code: JobCode, inputs: Iterable<unknown>, opts: MapOptions = {}): AsyncGenerator<unknown> {
    const { signal, attempts, idempotencyKey, ...jobOpts } = opts;
    const job = await this.submit({ ...jobOpts, code: moduleOf(code), inputs: Array.from(inputs) }, { signal, ...(idempotencyKey !== undefined ? { idempotencyKey } : {}) });
    const onAbort = () => void job.cancel().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    let complete = false;
    try {
      let n = 0;
      for await (const r of job.results({ signal, attempts })) {
        yield r instanceof TaskError ? r : r.output;
        n++;
      }
      if (n < job.summary!.total) throw new JobCancelledError(job.id);
      complete = true;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // Left early (break, an error): the work it left is nobody's any more.
      if (!complete && !signal?.aborted) await job.cancel().catch(() => undefined);
    }
  }

  /** A handle on an existing job (no request is made). */
  job(id: string): Job {
    return new Job(this.http, id);
  }

  /** One job's summary. */
  async getJob(id: string, opts: CallOptions = {}): Promise<JobSummary> {
    return this.job(id).get(opts);
  }

  /** A page of jobs, newest first; pass `next` as `cursor` for the next page. */
  async listJobs(opts: CallOptions & { limit?: number; cursor?: string } = {}): Promise<JobList> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.cursor !== undefined) q.set('cursor', opts.cursor);
    const query = q.toString();
    return this.http.json<JobList>('GET', `/api/jobs${query ? `?${query}` : ''}`, { signal: opts.signal });
  }

  /** A job's summary with its code, its first results and its first errors (what the dashboard shows). */
  async getJobDetail(id: string, opts: CallOptions = {}): Promise<JobDetail> {
    return this.http.json<JobDetail>('GET', `/api/jobs/${encodeURIComponent(id)}/detail`, { signal: opts.signal });
  }

  /** One task of a job: state, input, output or error, and its attempt history (and replicas, when validated). */
  async getTask(id: string, index: number, opts: CallOptions = {}): Promise<TaskDetailReply> {
    return this.job(id).task(index, opts);
  }

  /** Cancel a job by id. */
  async cancel(id: string, opts: CallOptions = {}): Promise<JobSummary> {
    return this.job(id).cancel(opts);
  }

  /** Queue a job's failed tasks again. */
  async retryFailed(id: string, opts: CallOptions = {}): Promise<JobSummary> {
    return this.job(id).retryFailed(opts);
  }

  /** The swarm: volunteers, threads, tasks per second, queued and leased tasks, active jobs. */
  async stats(opts: CallOptions = {}): Promise<Stats> {
    return this.http.json<Stats>('GET', '/api/stats', { signal: opts.signal });
  }

  /** The operator's title and description for the volunteer page (public). */
  async getSite(opts: CallOptions = {}): Promise<Site> {
    return this.http.json<Site>('GET', '/api/site', { signal: opts.signal });
  }

  /** A page of volunteer identities, newest first (`limit` at most 200, default 50). */
  async listIdentities(opts: CallOptions & { offset?: number; limit?: number } = {}): Promise<IdentityPage> {
    const q = new URLSearchParams();
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const query = q.toString();
    return this.http.json<IdentityPage>('GET', `/api/identities${query ? `?${query}` : ''}`, { signal: opts.signal });
  }

  /**
   * Every volunteer identity, page after page. Identities made meanwhile shift the pages (newest first), so
   * a row may come twice; none that existed at the start is skipped.
   */
  async *identities(opts: CallOptions & { pageSize?: number } = {}): AsyncGenerator<IdentityRow> {
    const limit = opts.pageSize ?? 200;
    for (let offset = 0; ; ) {
      const page = await this.listIdentities({ offset, limit, signal: opts.signal });
      yield* page.rows;
      offset += page.rows.length;
      if (page.rows.length === 0 || offset >= page.total) return;
    }
  }

  /** One volunteer identity, with its trust and checks (IdentityNotFoundError when there is none). */
  async getIdentity(id: string, opts: CallOptions = {}): Promise<IdentityRow> {
    return this.http.json<IdentityRow>('GET', identityPath(id), { signal: opts.signal });
  }

  /** Ban an identity: its connections close and its unsettled results go back for validation. */
  async banIdentity(id: string, opts: CallOptions & { reason?: string | undefined } = {}): Promise<IdentityRow> {
    return this.http.json<IdentityRow>('POST', identityPath(id, '/ban'), { json: opts.reason ? { reason: opts.reason } : {}, signal: opts.signal });
  }

  /** Vouch for an identity (the operator's own machine): trusted from now on, a ban lifted. */
  async vouchForIdentity(id: string, opts: CallOptions = {}): Promise<IdentityRow> {
    return this.http.json<IdentityRow>('POST', identityPath(id, '/vouch'), { signal: opts.signal });
  }

  /** Give an identity a fresh start: untrusted, not banned. */
  async reinstateIdentity(id: string, opts: CallOptions = {}): Promise<IdentityRow> {
    return this.http.json<IdentityRow>('POST', identityPath(id, '/reinstate'), { signal: opts.signal });
  }

  /**
   * Store an asset on the master (PUT /api/assets/<sha256>) unless it has it already (HEAD); resolves with the
   * hex SHA-256 a job names it by (`assets: { name: sha256 }`). `source` is the bytes, a Blob, or in Node a
   * file path (read as a stream, never whole into memory). A master without assets answers NotFoundError.
   */
  async uploadAsset(source: Uint8Array | Blob | string, opts: CallOptions = {}): Promise<string> {
    const body = typeof source === 'string' ? await openAssetFile(source, nodeProcess()) : source;
    const sha256 = await assetSha256(body, nodeProcess());
    if (!(await this.hasAsset(sha256, opts))) await this.http.request('PUT', assetPath(sha256), { bytes: body, signal: opts.signal });
    return sha256;
  }

  /** Whether the master has the asset with this SHA-256 (HEAD /api/assets/<sha256>). */
  async hasAsset(sha256: string, opts: CallOptions = {}): Promise<boolean> {
    try {
      await this.http.request('HEAD', assetPath(sha256), { signal: opts.signal });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
}
