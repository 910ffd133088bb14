/** The jobs service: what the REST routes (and later the SDK) do with jobs, over the scheduler and store. */
import { randomBytes } from 'node:crypto';
import { JobDefaults, Limits, ValidationDefaults, type AssetRef, type CreateJobBody, type JobList, type JobSummary, type ValidationMode } from '@barnraise/shared';
import type { AssetStore } from '../assets/store.ts';
import { ApiError } from '../errors.ts';
import type { IdempotencyKeys, KeyRecord } from '../security/idempotency.ts';
import { jsonSize, sizeProblem, SMALL_JSON_CHARS } from '../security/json.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { JobRecord, Store } from '../store/store.ts';
import type { ValidationPolicy } from '../validation/job.ts';
import { checkJobCode } from './code.ts';
import { summaryOf } from './summary.ts';
import { asJavaScriptJob } from '../python/submit.ts';

const RESULTS_PAGE = 1000;

/** How a create request arrived, beyond its parsed body. */
export interface CreateOptions {
  /** `Idempotency-Key` header, already checked for shape. */
  idempotencyKey?: string;
  /** sha256 (hex) of the raw body; required with `idempotencyKey`. */
  bodySha256?: string;
  /** Length of the raw body: small bodies skip the per-input checks (see security/json.ts). */
  bodyChars?: number;
}

export interface Created {
  summary: JobSummary;
  /** True when an earlier request with the same Idempotency-Key made this job. */
  replayed: boolean;
}

export class JobsService {
  /** Creations in flight by Idempotency-Key: a concurrent duplicate waits for the first. */
  private readonly creating = new Map<string, Promise<Created>>();
  /** Followed results streams open now, each resolving when it ends. */
  private readonly following = new Set<Promise<void>>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly store: Store,
    private readonly keys: IdempotencyKeys,
    /** The validation mode of a job that names none (BARNRAISE_VALIDATION). */
    private readonly defaultValidation: ValidationMode = 'none',
    /** Where the assets jobs name are (section A); without it a job naming assets is refused. */
    private readonly assets?: AssetStore,
  ) {}

  /**
   * Validate, make durable, then schedule (rule D1: the 201 comes only once the job is on disk). With an
   * Idempotency-Key, [S5] the same key gives back the job it made; with another body it is a 422.
   */
  async create(submitted: CreateJobBody, opts: CreateOptions = {}): Promise<Created> {
    // [Y1] A Python job becomes the JavaScript module that runs it on Pyodide, before anything else sees it.
    const body = await asJavaScriptJob(submitted, this.assets);
    const key = opts.idempotencyKey;
    if (key === undefined) {
      const inputBytes = this.check(body, opts.bodyChars);
      return { summary: await this.insert(body, newJobId(), inputBytes, await this.assetsOf(body)), replayed: false };
    }
    const running = this.creating.get(key);
    if (running) {
      // A concurrent duplicate: once the first is through, the key is known and this is a replay.
      await running.catch(() => undefined);
      return this.create(submitted, opts);
    }
    const creation = this.createOnce(key, opts.bodySha256 ?? '', body, opts.bodyChars).finally(() => this.creating.delete(key));
    this.creating.set(key, creation);
    return creation;
  }

  private async createOnce(key: string, bodySha256: string, body: CreateJobBody, bodyChars?: number): Promise<Created> {
    let known = await this.keys.get(key);
    if (known) {
      const replay = await this.replay(known, bodySha256);
      if (replay) return replay;
      // Reserved, but the master died before the job was inserted: insert it now, under the reserved id.
    }
    const inputBytes = this.check(body, bodyChars);
    const assets = await this.assetsOf(body);
    if (!known) {
      const mine = { jobId: newJobId(), bodySha256 };
      known = await this.keys.reserve(key, mine, this.scheduler.clock.now());
      if (known.jobId !== mine.jobId) {
        // Another master (same database) reserved this key at the same moment and won: its job, not a second.
        const replay = await this.replay(known, bodySha256);
        if (replay) return replay;
      }
    }
    try {
      return { summary: await this.insert(body, known.jobId, inputBytes, assets), replayed: false };
    } catch (err) {
      // The winner inserted the job under the reserved id while this master tried too: the id is taken.
      const replay = await this.replay(known, bodySha256).catch(() => undefined);
      if (replay) return replay;
      throw err;
    }
  }

  /** The job an earlier request with this key made, if it exists; 422 if that request had another body. */
  private async replay(known: KeyRecord, bodySha256: string): Promise<Created | undefined> {
    if (known.bodySha256 !== bodySha256) throw new ApiError('IDEMPOTENCY_KEY_REUSED');
    if (!(await this.store.getJob(known.jobId))) return undefined;
    return { summary: await this.get(known.jobId), replayed: true };
  }

  /**
   * Refuse code that does not parse and inputs that cannot be stored or are too large. Returns the largest
   * input's JSON size in bytes (a bound: no input of a small body is larger than the body), which sizes
   * the job's `tasks` frames (rule S15).
   */
  private check(body: CreateJobBody, bodyChars?: number): number {
    const problem = checkJobCode(body.code);
    if (problem) throw new ApiError('BAD_CODE', problem);
    const policy = this.policyOf(body);
    if (body.checks?.length && !policy) throw new ApiError('BAD_REQUEST', 'checks need validation mode adaptive or strict');
    if (policy && policy.quorum > policy.maxReplicas) throw new ApiError('BAD_REQUEST', `validation.quorum (${policy.quorum}) is more than validation.maxReplicas (${policy.maxReplicas})`);
    for (const [k, c] of (body.checks ?? []).entries()) {
      for (const [what, value] of [['input', c.input], ['output', c.output]] as const) {
        const size = jsonSize(value);
        const bad = size.ok ? sizeProblem(size.bytes, Limits.maxInputBytes, `checks[${k}].${what}`) : `checks[${k}].${what} cannot be stored: ${size.why}`;
        if (bad) throw new ApiError('BAD_INPUT', bad);
      }
      if (c.index !== undefined && c.index >= body.inputs.length) throw new ApiError('BAD_REQUEST', `checks[${k}].index is past the last input`);
    }
    if (bodyChars !== undefined && bodyChars < SMALL_JSON_CHARS) return bodyChars;
    let largest = 0;
    for (let i = 0; i < body.inputs.length; i++) {
      const size = jsonSize(body.inputs[i]);
      const bad = size.ok ? sizeProblem(size.bytes, Limits.maxInputBytes, `inputs[${i}]`) : `inputs[${i}] cannot be stored: ${size.why}`;
      if (bad) throw new ApiError('BAD_INPUT', bad);
      if (size.ok && size.bytes > largest) largest = size.bytes;
    }
    return largest;
  }

  /** The job's validation policy with defaults filled in, or undefined for mode `none` (section V). */
  private policyOf(body: CreateJobBody): ValidationPolicy | undefined {
    const mode = body.validation?.mode ?? this.defaultValidation;
    if (mode === 'none') return undefined;
    return {
      mode,
      quorum: body.validation?.quorum ?? ValidationDefaults.quorum,
      maxReplicas: body.validation?.maxReplicas ?? ValidationDefaults.maxReplicas,
      compare: body.validation?.compare ?? 'exact',
    };
  }

  /** [A2] The job's assets as it keeps them, each one there on this master's disk (422 UNKNOWN_ASSET otherwise). */
  private async assetsOf(body: CreateJobBody): Promise<AssetRef[] | undefined> {
    if (!body.assets || Object.keys(body.assets).length === 0) return undefined;
    if (!this.assets) throw new ApiError('UNKNOWN_ASSET', 'this master keeps no assets');
    return this.assets.refs(body.assets);
  }

  private async insert(body: CreateJobBody, id: string, inputBytes: number, assets: AssetRef[] | undefined): Promise<JobSummary> {
    const validation = this.policyOf(body);
    const record: JobRecord = {
      id,
      name: body.name ?? id,
      code: body.code,
      priority: body.priority ?? JobDefaults.priority,
      timeoutMs: body.timeoutMs ?? JobDefaults.timeoutMs,
      maxAttempts: body.maxAttempts ?? JobDefaults.maxAttempts,
      maxLosses: JobDefaults.maxLosses,
      total: body.inputs.length,
      createdAt: this.scheduler.clock.now(),
      status: 'queued',
      done: 0,
      failed: 0,
      requeues: 0,
      startedAt: null,
      finishedAt: null,
      ...(validation ? { validation } : {}),
      ...(assets ? { assets } : {}),
    };
    const checks = body.checks ?? [];
    await this.store.insertJob(record, body.inputs, checks);
    // Its tasks come to this master (and any other) in claims (K1).
    return summaryOf(record, this.scheduler.addJob(record, inputBytes, checks));
  }

  /** [K7] The job as the store has it (the same on every master), with what this master leases of it. */
  async get(id: string): Promise<JobSummary> {
    const record = await this.store.getJob(id);
    if (!record) throw new ApiError('JOB_NOT_FOUND');
    return summaryOf(record, this.scheduler.jobs.get(id));
  }

  async list(limit: number, cursor?: string): Promise<JobList> {
    const page = await this.store.listJobs(limit, cursor);
    const jobs = page.jobs.map((r) => summaryOf(r, this.scheduler.jobs.get(r.id)));
    return page.next === undefined ? { jobs } : { jobs, next: page.next };
  }

  /**
   * [S11] Resolves once every followed stream open now has ended (a drain tells them to), or after `ms`: the
   * server closes only then, so a stream's last lines are written before its connection goes.
   */
  async followersEnded(ms: number): Promise<void> {
    await Promise.race([Promise.all([...this.following]), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  /** [J3] Cancel, on any master: idempotent for a cancelled job, 409 for a completed one. The others learn it at their next sync. */
  async cancel(id: string): Promise<JobSummary> {
    const after = await this.store.cancelJob(id, this.scheduler.clock.now());
    if (!after) throw new ApiError('JOB_NOT_FOUND');
    if (after.status === 'completed') throw new ApiError('JOB_FINISHED');
    this.scheduler.cancel(id);
    return this.get(id);
  }

  /**
   * The results stream as chunks of NDJSON: every final task in index order; with `follow`, then each task
   * as it becomes final (durable), in commit order, until the job ends or `signal` aborts. [K6] It reads the
   * store, so it follows a job whatever master runs it; local commits wake it, a poll backs them up.
   */
  async *results(id: string, follow: boolean, signal: AbortSignal): AsyncGenerator<string> {
    const record = await this.store.getJob(id);
    if (!record) throw new ApiError('JOB_NOT_FOUND');
    const live = follow && (record.status === 'queued' || record.status === 'running');
    const events = this.scheduler.events;
    let wake: (() => void) | null = null;
    let shutdown = false;
    const poke = () => {
      const w = wake;
      wake = null;
      w?.();
    };
    const onShutdown = () => {
      shutdown = true;
      poke();
    };
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    if (live) {
      this.following.add(done);
      events.on(`committed:${id}`, poke);
      events.on(`ended:${id}`, poke);
      events.once('shutdown', onShutdown);
      signal.addEventListener('abort', poke, { once: true });
    }
    try {
      // Where the tail starts: everything final before this is in the snapshot (and maybe some after).
      let fin = record.fin ?? 0;
      const seen = live ? new Uint8Array(record.total) : null;
      for (let after = -1; ; ) {
        const rows = await this.store.readResults(id, after, RESULTS_PAGE);
        if (rows.length === 0 || signal.aborted) break;
        if (seen) for (const r of rows) seen[r.index] = 1;
        yield rows.map((r) => `${JSON.stringify(r)}\n`).join('');
        after = rows[rows.length - 1]!.index;
      }
      if (!seen) return;
      let lastStatusCheck = 0;
      // The job had ended before the read now under way: what that read finds is all there will be.
      let endedBefore = false;
      for (;;) {
        if (signal.aborted) return;
        const rows = await this.store.resultsSince(id, fin, RESULTS_PAGE);
        let chunk = '';
        for (const { fin: f, ...line } of rows) {
          fin = f;
          if (seen[line.index]) continue;
          seen[line.index] = 1;
          chunk += `${JSON.stringify(line)}\n`;
        }
        if (chunk) yield chunk;
        if (rows.length === RESULTS_PAGE) continue;
        if (shutdown || endedBefore) return;
        // Ended when the store says so and nothing numbered after our place is left (checked now and then).
        const now = Date.now();
        if (now - lastStatusCheck >= FOLLOW_POLL_MS || !this.scheduler.jobs.has(id)) {
          lastStatusCheck = now;
          const current = await this.store.getJob(id);
          const over = current?.status === 'completed' || current?.status === 'cancelled';
          if (!current || (over && (current.fin ?? 0) <= fin)) return;
          // Numbered past our place: read on. An ended job's numbers past ours may all be of tasks made
          // pending again since (J4: a failed task retried, then the job cancelled), which no read returns:
          // one more read, then the end, rather than reading nothing for ever.
          endedBefore = over;
          if ((current.fin ?? 0) > fin) continue;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(poke, FOLLOW_POLL_MS).unref();
        });
      }
    } finally {
      ended();
      this.following.delete(done);
      events.off(`committed:${id}`, poke);
      events.off(`ended:${id}`, poke);
      events.off('shutdown', onShutdown);
      signal.removeEventListener('abort', poke);
    }
  }
}

/** How often a follower looks at the store for results committed by other masters (K6). */
const FOLLOW_POLL_MS = 250;

function newJobId(): string {
  return `j_${randomBytes(8).toString('base64url')}`;
}

