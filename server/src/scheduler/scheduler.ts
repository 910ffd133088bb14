/**
 * The scheduler: in-memory dispatch over the lease transitions of lease.ts, fed by the volunteer hub and
 * the jobs service, made durable through the group-commit writer. Time comes from the injected clock;
 * `tick()` is the only place deadlines and heartbeats are checked, so tests drive it with a fake clock.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CloseCode, CloseReason, Limits, MAX_PREFETCH, smoothMs, type ResultLine, type TaskOutcome } from '@barnraise/shared';
import type { Clock } from './clock.ts';
import { FairQueue } from './queue.ts';
import { RateMeter } from './rate.ts';
import { cancel, claim, complete, expire, fail, finish, lose, release, settleAttempts, type LeaseCore } from './lease.ts';
import { JobState, TaskState, VolunteerState, type Agent, type Attempt, type JobSpec, type VolunteerPort } from './state.ts';
import { GroupCommit, type Committed, type WriterMetrics } from '../store/writer.ts';
import type { ClaimedTask, JobCounters, Owner, Store } from '../store/store.ts';
import { Supply } from './supply.ts';
import { largestJsonBound } from '../security/json.ts';
import { TrustBook } from '../validation/book.ts';
import { DEFAULT_VALIDATION_PARAMS, JobValidation, Probation, type ValidationHost, type ValidationParams } from '../validation/job.ts';
import { Suspicion } from '../validation/suspicion.ts';
import { DEFAULT_TRUST_POLICY, type IdentityRecord, type TrustPolicy } from '../validation/trust.ts';

/** Known answers from the operator (`checks` of a job). */
type KnownAnswers = ReadonlyArray<{ input: unknown; output: unknown; index?: number }>;

export interface SchedulerOptions {
  clock: Clock;
  store: Store;
  /** A volunteer silent this long is gone (rule H2). */
  heartbeatTimeoutMs: number;
  /** [H2] Silence after which a volunteer holding no lease is gone (default: the same as holding some). */
  idleTimeoutMs?: number;
  /** Slack on every attempt deadline (rule L4). */
  graceMs?: number;
  commitIntervalMs?: number;
  onError?(err: unknown): void;
  /** Randomness of validation's spot checks and known-answer checks (seeded in tests and benchmarks). */
  random?: () => number;
  /** This master and the generation of its liveness (K2-K4); a fixed one by default (a single master). */
  owner?: () => Owner;
  /** False while the master has lost the store (K3): no claims are made. */
  live?: () => boolean;
  validation?: Partial<ValidationParams>;
  trust?: Partial<TrustPolicy>;
  /** Told every final task, requeue, attempt end and commit, through the group-commit writer (metrics). */
  metrics?: WriterMetrics;
}

/** Why a volunteer left (the event log shows it). */
export type LeaveReason = 'closed' | 'heartbeat' | 'shutdown' | 'violation' | 'banned';

/** What happened in the swarm, for the operator's event log (`events.on('activity', …)`). */
export type Activity =
  | { kind: 'volunteer-joined'; volunteer: string; agent: string; threads: number }
  | { kind: 'volunteer-left'; volunteer: string; reason: LeaveReason; requeued: number }
  | { kind: 'lease-expired'; volunteer: string; job: string; index: number }
  | { kind: 'task-failed'; job: string; index: number; error: string }
  | { kind: 'job-created'; job: string; name: string; total: number }
  | { kind: 'job-finished'; job: string; name: string; status: string }
  | { kind: 'identity-banned'; identity: string; reason: string; rolledBack: number; closed: number }
  | { kind: 'identity-trusted'; identity: string }
  | { kind: 'task-inconclusive'; job: string; index: number; error: string };

export interface SwarmStats {
  volunteers: number;
  threads: number;
  tasksPerSecond: number;
  tasksDone: number;
  queued: number;
  leased: number;
  activeJobs: number;
}

export class Scheduler {
  readonly jobs = new Map<string, JobState>();
  readonly volunteers = new Map<string, VolunteerState>();
  /**
   * `result:<jobId>` (ResultLine, durable), `ended:<jobId>` once a finished job's row is durable, `shutdown`,
   * and `activity` (Activity) for the event log.
   */
  readonly events = new EventEmitter().setMaxListeners(0);
  readonly writer: GroupCommit;
  private readonly core: LeaseCore;
  private readonly queue = new FairQueue();
  private readonly hungry = new Set<VolunteerState>();
  private readonly rate: RateMeter;
  private readonly bootId = randomBytes(4).toString('base64url');
  private attemptSeq = 0;
  private pumpQueued = false;
  /** The last dispatch held a volunteer back for its socket backlog: the ticker tries again (S15). */
  private backlogged = false;
  private tasksDone = 0;
  /** Identities and their trust (section V). */
  readonly book: TrustBook;
  private readonly probation = new Probation();
  private readonly suspicion = new Suspicion();
  /** Identities whose last connection left, and when (V14: results waiting on them are given up after a while). */
  private readonly offline = new Map<string, number>();
  private readonly validationHost: ValidationHost;
  /** Claims of tasks from the store (K1). */
  readonly supply: Supply;
  /** This master as the store knows it (K2). */
  readonly owner: () => Owner;
  private readonly onError: (err: unknown) => void;

  constructor(private readonly opts: SchedulerOptions) {
    const onError = (this.onError = opts.onError ?? ((err) => console.error(err)));
    const fixed: Owner = { master: `m_${this.bootId}`, gen: 1 };
    this.owner = opts.owner ?? (() => fixed);
    this.writer = new GroupCommit(opts.store, {
      intervalMs: opts.commitIntervalMs ?? 10,
      maxBatch: 2000,
      owner: this.owner,
      onCommitted: (c) => this.committed(c),
      onError,
      metrics: opts.metrics,
      now: () => opts.clock.now(),
    });
    this.supply = new Supply({
      store: opts.store,
      owner: this.owner,
      live: opts.live ?? (() => true),
      prepare: async (tasks) => {
        const missing = new Set<string>();
        for (const t of tasks) for (const v of t.votes ?? []) if (!this.book.get(v.identity)) missing.add(v.identity);
        if (missing.size > 0) for (const r of await opts.store.getIdentities([...missing])) this.book.hold(r);
      },
      onClaimed: (job, tasks) => this.claimed(job, tasks),
      onError,
    });
    this.core = {
      clock: opts.clock,
      journal: this.writer,
      queue: this.queue,
      attempts: new Map<string, Attempt>(),
      graceMs: opts.graceMs ?? 5000,
      // Unique across restarts too: a result for an attempt of an earlier boot can never match (rule L3).
      newAttemptId: () => `${this.bootId}.${(this.attemptSeq++).toString(36)}`,
    };
    this.rate = new RateMeter(opts.clock);
    this.book = new TrustBook({ ...DEFAULT_TRUST_POLICY, ...opts.trust }, this.writer, opts.clock, {
      banned: (r) => this.banned(r),
      trusted: (r) => this.activity({ kind: 'identity-trusted', identity: r.id }),
      reweighed: (r) => {
        for (const job of this.jobs.values()) job.validation?.reweigh(r.id);
        this.schedulePump();
      },
    });
    const core = this.core;
    this.validationHost = {
      book: this.book,
      params: { ...DEFAULT_VALIDATION_PARAMS, ...opts.validation },
      random: opts.random ?? Math.random,
      journal: this.writer,
      probation: this.probation,
      suspicion: this.suspicion,
      cleared: (id) => {
        for (const job of this.jobs.values()) job.validation?.reweigh(id);
        this.schedulePump();
      },
      // [V9] Only checks passed here count toward this master's probations: a pass another master journaled
      // (K5) says nothing of when the result it checked was returned.
      passed: (id, seq, evidence) => {
        for (const job of this.probation.jobs(id)) job.probationCheck(id, seq, evidence);
      },
      finish: (job, line) => {
        finish(core, job, line, null);
        if (line.status === 'failed' && line.error.startsWith('inconclusive')) this.activity({ kind: 'task-inconclusive', job: job.id, index: line.index, error: line.error });
      },
      abort: (ids, reason) => {
        this.abort(settleAttempts(core, ids), reason);
        this.schedulePump();
      },
    };
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  /** Live attempts (leases) by id. */
  get attempts(): ReadonlyMap<string, Attempt> {
    return this.core.attempts;
  }

  /**
   * Make a durable job (rule D1) known to this master: its tasks come from the store in claims (K1).
   * `maxInputBytes` bounds its inputs' JSON sizes when the caller measured them; claims measure the rest.
   */
  addJob(spec: JobSpec, maxInputBytes = 0, checks: KnownAnswers = [], durable?: JobCounters): JobState {
    const known = this.jobs.get(spec.id);
    if (known) return known;
    const job = new JobState(spec);
    job.maxInputBytes = checks.length > 0 ? Math.max(maxInputBytes, largestJsonBound(checks.map((c) => c.input))) : maxInputBytes;
    job.measureClaims = maxInputBytes === 0;
    if (spec.validation) job.validation = new JobValidation(job, spec.validation, this.validationHost, checks);
    if (durable) {
      job.sync(durable);
      job.status = durable.status;
    }
    this.jobs.set(spec.id, job);
    this.queue.add(job);
    if (!durable) this.activity({ kind: 'job-created', job: spec.id, name: spec.name, total: spec.total });
    this.schedulePump();
    return job;
  }

  /** [K1] Claimed tasks arrive: fresh ones join the job's buffer; validated ones with votes are decided again (V13). */
  private claimed(job: JobState, tasks: ClaimedTask[]): void {
    if (!this.jobs.has(job.id) || job.isFinished()) {
      void this.opts.store.releaseTasks(job.id, this.owner(), tasks.map((t) => t.index)).catch(this.onError);
      return;
    }
    for (const t of job.claimed(tasks)) {
      if (!t.votes?.length || !job.validation) continue;
      const votes = t.votes.filter((v) => this.book.get(v.identity)?.state !== 'banned');
      job.validation.restore(t.index, votes);
    }
    this.schedulePump();
  }

  /** [K7] The store's row of a job this master knows (a sync): its durable totals and status. */
  synced(c: JobCounters): void {
    const job = this.jobs.get(c.id);
    if (!job) return;
    job.sync(c);
    // Tasks the store holds that nobody here has: worth claiming again (released by a master that died, retried).
    if (c.total - c.done - c.failed > job.counts.queued + job.counts.leased) job.claimable = true;
    if (c.status === 'cancelled' && !job.isFinished()) this.cancel(c.id);
    else if (c.status === 'completed' && !job.isFinished()) this.ended(job, c);
    else this.schedulePump();
  }

  /** [J4] Failed tasks were reset in the store: this master may claim them again. */
  reopen(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    job.claimable = true;
    if (job.status === 'queued' || job.status === 'completed') job.status = 'running';
    this.schedulePump();
  }

  /** The store says the job is over (a receipt or a sync): it leaves memory; its history lives on disk (D4). */
  private ended(job: JobState, c: JobCounters): void {
    if (!this.jobs.has(job.id)) return;
    const live = [...this.core.attempts.values()].filter((a) => a.job === job);
    if (live.length > 0) this.abort(settleAttempts(this.core, live.map((a) => a.id)), 'job finished');
    job.status = c.status;
    job.finishedAt = c.finishedAt;
    job.validation?.close();
    this.queue.remove(job);
    this.jobs.delete(job.id);
    this.events.emit(`ended:${job.id}`);
    this.activity({ kind: 'job-finished', job: job.id, name: job.spec.name, status: c.status });
  }

  /** A volunteer joins; `identity` is the one it proved at hello (held in the trust book from here on). */
  join(port: VolunteerPort, threads: number, agent: Agent, ua: string, hidden = false, identity: IdentityRecord | null = null, network = ''): VolunteerState {
    const v = new VolunteerState(`v_${randomBytes(6).toString('base64url')}`, port, threads, agent, ua, this.clock.now(), identity?.id ?? null, network);
    v.hidden = hidden;
    if (identity) {
      this.book.hold(identity);
      this.book.connected(identity.id, network);
      this.offline.delete(identity.id);
    }
    this.volunteers.set(v.id, v);
    this.activity({ kind: 'volunteer-joined', volunteer: v.id, agent, threads });
    return v;
  }

  /**
   * Most credits `v` may hold (P3): as deep as the shortest tasks call for; each job's leases are capped
   * apart by its own task length (heldCap), so a deep prefetch never means hoarding long tasks.
   */
  maxCredits(v: VolunteerState): number {
    return Math.min(Limits.maxCreditsPerConnection, v.threads * MAX_PREFETCH);
  }

  /** [L5] The volunteer is gone: requeue its leases now. */
  leave(v: VolunteerState, reason: LeaveReason = 'closed'): void {
    if (!this.volunteers.delete(v.id)) return;
    this.hungry.delete(v);
    if (v.identity) {
      this.book.disconnected(v.identity, v.network);
      if (!this.book.isOnline(v.identity)) this.offline.set(v.identity, this.clock.now());
    }
    const lost = lose(this.core, v);
    this.activity({ kind: 'volunteer-left', volunteer: v.id, reason, requeued: lost.length });
    this.schedulePump();
  }

  /**
   * [V5] An identity was banned: its connections close (4032), its leases go back, and every task where its
   * vote was not final is decided again without it (provisional results on it are rolled back).
   */
  private banned(r: IdentityRecord): void {
    let closed = 0;
    for (const v of [...this.volunteers.values()]) {
      if (v.identity !== r.id) continue;
      release(this.core, v, [...v.attempts.keys()]);
      this.leave(v, 'banned');
      v.port.close(CloseCode.Banned, CloseReason.Banned);
      closed++;
    }
    let rolledBack = 0;
    for (const job of [...this.jobs.values()]) if (job.validation && !job.isFinished()) rolledBack += job.validation.rollback(r.id);
    this.activity({ kind: 'identity-banned', identity: r.id, reason: r.banReason ?? 'banned', rolledBack, closed });
    this.schedulePump();
  }

  /** The operator bans an identity by hand (REST). */
  banIdentity(id: string, reason: string): IdentityRecord | undefined {
    return this.book.ban(id, reason);
  }

  private activity(a: Activity): void {
    this.events.emit('activity', a);
  }

  /**
   * [P3] Grant credits. Not to a volunteer that is gone: a results frame can carry `want` and get its own
   * volunteer banned (V5) on the way, and leases to a departed volunteer are never answered nor lost.
   */
  want(v: VolunteerState, n: number): void {
    if (!this.volunteers.has(v.id)) return;
    v.credits = Math.max(0, Math.min(v.credits + n, this.maxCredits(v) - v.attempts.size));
    if (v.credits > 0) {
      this.hungry.add(v);
      this.schedulePump();
    }
  }

  /** [P4] Drop unused credits (Stop). */
  pause(v: VolunteerState): void {
    v.credits = 0;
    this.hungry.delete(v);
  }

  /** [L2][T2] Outcomes of attempts; returns how many were stale (ignored). */
  results(v: VolunteerState, items: readonly TaskOutcome[], want = 0): number {
    let stale = 0;
    for (const item of items) {
      if (item.ms !== undefined) {
        const a = v.attempts.get(item.a);
        if (a) a.job.avgMs = smoothMs(a.job.avgMs, item.ms);
      }
      const outcome = item.ok ? complete(this.core, v, item.a, item.output) : fail(this.core, v, item.a, item.error.slice(0, Limits.maxErrorChars));
      if (outcome === 'stale') stale++;
      else {
        if (item.ms !== undefined) v.cpuMs += item.ms;
        if (item.ok) {
          this.tasksDone++;
          this.rate.add();
        }
      }
    }
    if (want > 0) this.want(v, want);
    return stale;
  }

  progress(v: VolunteerState, id: string, p: number): void {
    const a = v.attempts.get(id);
    if (a) a.progress = p;
  }

  /** [L6] */
  release(v: VolunteerState, ids: readonly string[]): void {
    if (release(this.core, v, ids) > 0) this.schedulePump();
  }

  /** [H1] Any frame proves the volunteer's event loop runs. */
  seen(v: VolunteerState): void {
    v.lastSeen = this.clock.now();
  }

  /** [J3] Cancel a job; its volunteers are told to abort. Returns false when it was already finished. */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.isFinished()) return false;
    this.abort(cancel(this.core, job), 'job cancelled');
    return true;
  }

  private abort(attempts: Attempt[], reason: string): void {
    const byVolunteer = new Map<VolunteerState, string[]>();
    for (const a of attempts) {
      if (!this.volunteers.has(a.volunteer.id)) continue;
      const list = byVolunteer.get(a.volunteer) ?? [];
      list.push(a.id);
      byVolunteer.set(a.volunteer, list);
    }
    for (const [v, ids] of byVolunteer) v.port.send({ type: 'abort', attempts: ids, reason });
  }

  /** Check deadlines [L4] and heartbeats [H2]. Called every few hundred ms by the server, by tests at will. */
  tick(): void {
    const expired = expire(this.core);
    for (const a of expired) this.activity({ kind: 'lease-expired', volunteer: a.volunteer.id, job: a.job.id, index: a.index });
    if (expired.length > 0) {
      this.abort(expired, 'deadline passed');
      // The aborted attempts' slots are free again on the volunteer; it returns the credit itself.
      this.schedulePump();
    }
    if (this.backlogged) this.schedulePump();
    const now = this.clock.now();
    for (const job of this.jobs.values()) this.supply.releaseIdle(job, now);
    // [V14] A volunteer gone for a while will pass no more checks: results waiting on it get more replicas.
    const givenUp = now - Math.max(10_000, 2 * this.opts.heartbeatTimeoutMs);
    for (const [id, since] of this.offline) {
      if (since > givenUp) continue;
      this.offline.delete(id);
      for (const job of this.jobs.values()) job.validation?.abandon(id);
    }
    const cutoff = now - this.opts.heartbeatTimeoutMs;
    const idleCutoff = now - (this.opts.idleTimeoutMs ?? this.opts.heartbeatTimeoutMs);
    for (const v of [...this.volunteers.values()]) {
      // Holding leases, it beats at the busy pace from when it got the first (it may have been idle before).
      const lapsed = v.attempts.size > 0 ? Math.max(v.lastSeen, v.busySince) <= cutoff : v.lastSeen <= idleCutoff;
      if (lapsed) {
        this.leave(v, 'heartbeat');
        v.port.close(CloseCode.HeartbeatLapsed, CloseReason.HeartbeatLapsed);
      }
    }
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    // Coalesce: all frames that arrived in this turn of the event loop are answered by one dispatch.
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /**
   * [L1][F1][F2] Lease queued tasks to volunteers with credits, sharing them out evenly. [S15] In bytes
   * too: one dispatch puts at most Limits.maxSendBytes of inputs in a volunteer's frame, and leases
   * nothing to a volunteer whose socket still holds that much unsent. A volunteer capped by the frame
   * is served again next turn; one held back by its backlog, at the next tick after it drains.
   */
  pump(): void {
    // [V9] Tasks whose voters weigh more now are decided again first: they may settle, or want other replicas.
    if (this.validating) for (const job of this.jobs.values()) job.validation?.redecide();
    this.replenish();
    let queued = this.queue.queued();
    if (queued === 0 || this.hungry.size === 0) return;
    const perFrame = this.tasksPerFrame();
    const batches = new Map<VolunteerState, Attempt[]>();
    const eligible = [...this.hungry].filter((v) => v.port.backlog() < Limits.maxSendBytes);
    this.backlogged = eligible.length < this.hungry.size;
    let capped = false;
    while (queued > 0 && eligible.length > 0) {
      const share = Math.max(1, Math.ceil(queued / eligible.length));
      let leased = 0;
      for (const v of eligible) {
        const list = batches.get(v) ?? [];
        const room = perFrame - list.length;
        if (room <= 0 || v.credits <= 0) continue;
        const got = claim(this.core, v, Math.min(share, room));
        if (got.length > 0) {
          list.push(...got);
          batches.set(v, list);
          leased += got.length;
          queued -= got.length;
        }
        if (v.credits <= 0) this.hungry.delete(v);
        else if (list.length >= perFrame) capped = true;
        if (queued <= 0) break;
      }
      if (leased === 0) break;
      // A validated job's leases can want more (strict's first replicas): count the work again.
      if (queued <= 0 && this.validating) queued = this.queue.queued();
    }
    for (const [v, attempts] of batches) this.deliver(v, attempts);
    if (capped && queued > 0) this.schedulePump();
  }

  /** [K1] Keep each job's buffer of claimed tasks up with what the volunteers waiting here will want. */
  private replenish(): void {
    if (this.hungry.size === 0) return;
    let demand = 0;
    for (const v of this.hungry) demand += v.credits;
    const now = this.clock.now();
    for (const job of this.jobs.values()) this.supply.want(job, demand, now);
  }

  /** True while some unfinished job is validated (its leases can want more replicas). */
  private get validating(): boolean {
    for (const job of this.jobs.values()) if (job.validation && !job.isFinished()) return true;
    return false;
  }

  /** How many tasks fit in one frame's Limits.maxSendBytes, by the largest input of any job with work. */
  private tasksPerFrame(): number {
    let largest = 0;
    for (const job of this.jobs.values()) if (job.hasWork() && job.maxInputBytes > largest) largest = job.maxInputBytes;
    return largest === 0 ? Infinity : Math.max(1, Math.floor(Limits.maxSendBytes / largest));
  }

  private deliver(v: VolunteerState, attempts: Attempt[]): void {
    const now = this.clock.now();
    for (const a of attempts) {
      this.supply.leased(a.job, now);
      if (v.jobsSent.has(a.job.id)) continue;
      // [C1] The code travels once per job per connection, before the job's first task.
      v.jobsSent.set(a.job.id, now);
      const s = a.job.spec;
      // [A4] Its assets by name, hash and size: the bytes come over HTTP, from the volunteer's cache first.
      v.port.send({ type: 'job', id: s.id, name: s.name, code: s.code, timeoutMs: s.timeoutMs, ...(s.assets?.length ? { assets: s.assets } : {}) });
    }
    v.port.send({
      type: 'tasks',
      // [V4] A known-answer check travels as an ordinary task of its job, with the check's own input.
      items: attempts.map((a) => ({ a: a.id, job: a.job.id, i: a.index, input: (a.check ? a.check.input : a.job.inputs[a.index]) ?? null })),
    });
  }

  /** [K4][K5] A commit landed: acknowledge what took effect, show it to followers, and learn the jobs' durable state. */
  private committed(c: Committed): void {
    for (const [v, ids] of c.acks) if (this.volunteers.has(v.id)) v.port.send({ type: 'ack', attempts: ids });
    const touched = new Set<string>();
    // The event's name once per job in a row of results, not a new string per task.
    let named: JobState | undefined;
    let name = '';
    for (const { job, line } of c.results) {
      if (job !== named) {
        named = job;
        name = `result:${job.id}`;
        touched.add(job.id);
      }
      this.events.emit(name, line satisfies ResultLine);
      if (line.status === 'failed') this.activity({ kind: 'task-failed', job: job.id, index: line.index, error: line.error });
    }
    for (const r of c.receipt.identities) this.book.refresh(r);
    for (const counters of c.receipt.jobs) {
      const job = this.jobs.get(counters.id);
      if (!job) continue;
      job.sync(counters);
      if (counters.status === 'completed' || counters.status === 'cancelled') this.ended(job, counters);
    }
    // Followers anywhere read the store from where they are (K6): tell the local ones there is more.
    for (const id of touched) this.events.emit(`committed:${id}`);
  }

  stats(): SwarmStats {
    let threads = 0;
    for (const v of this.volunteers.values()) threads += v.threads;
    let leased = 0;
    let unfinished = 0;
    for (const job of this.jobs.values()) {
      leased += job.counts.leased;
      if (!job.isFinished()) unfinished += job.spec.total - job.counts.done - job.counts.failed;
    }
    return {
      volunteers: this.volunteers.size,
      threads,
      tasksPerSecond: this.rate.perSecond(),
      tasksDone: this.tasksDone,
      // Tasks no volunteer holds: here or waiting in the store for a claim (K1).
      queued: Math.max(0, unfinished - leased),
      leased,
      activeJobs: this.queue.size,
    };
  }

  /** Close every volunteer and make everything pending durable (shutdown). Followers' streams end. */
  async drain(): Promise<void> {
    for (const v of [...this.volunteers.values()]) {
      // A shutdown is the master's doing: hand the leases back without counting losses.
      release(this.core, v, [...v.attempts.keys()]);
      this.leave(v, 'shutdown');
      v.port.close(CloseCode.ShuttingDown, CloseReason.ShuttingDown);
    }
    await this.writer.flush();
    await this.supply.idle();
    // [K1] What this master claimed is free for the others at once, not after its beat lapses.
    await this.opts.store.releaseClaims(this.owner().master).catch(this.onError);
    // Only now: a follower's stream ends after the last outcomes it was waiting for became durable and reached it.
    this.events.emit('shutdown');
  }

  /**
   * [K3] This master lost the store (its beat lapsed): its claims are void, so nothing more is leased or
   * acknowledged from them. Live attempts are stopped; the jobs leave memory until the store is back and the
   * sync brings them again. Volunteers stay connected.
   */
  abandon(reason: string): void {
    this.abort(settleAttempts(this.core, [...this.core.attempts.keys()]), reason);
    for (const job of [...this.jobs.values()]) {
      job.validation?.close();
      this.queue.remove(job);
      this.jobs.delete(job.id);
    }
  }

  /** Resolves once claims under way have landed and everything pending is durable (tests). */
  async settle(): Promise<void> {
    await this.supply.idle();
    await this.writer.flush();
  }
}
