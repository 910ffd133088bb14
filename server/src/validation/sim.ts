/**
 * A swarm in one process for the validation rules: the real Scheduler (lease core, quorum, trust book, group
 * commit into SQLite in memory) driven round by round with a fake clock and seeded randomness, and
 * volunteers that behave as scripted (honest, colluding, sleeping, failing on purpose). The rule tests use it
 * with fixed seeds; so does the parameter study in BENCHMARKS.md. No sockets: the benchmark
 * (`pnpm bench --only validation`) runs the same behaviours over real WebSockets.
 */
import { randomBytes } from 'node:crypto';
import type { ResultLine, TaskOutcome, ValidationMode } from '@barnraise/shared';
import { jobRecord } from '../store/contract.ts';
import { SqliteStore } from '../store/sqlite/store.ts';
import { FakeClock, FakePort } from '../testing/doubles.ts';
import { Scheduler, type SchedulerOptions } from '../scheduler/scheduler.ts';
import type { JobState, VolunteerState } from '../scheduler/state.ts';
import { newIdentity, TrustState } from './trust.ts';

/**
 * What a volunteer does with one lease. `trusted` and `seasoned` tell it its trust at once: more than a real
 * volunteer learns (only the operator sees trust), so the sleepers here are the strongest kind.
 */
export type Behavior = (lease: { job: string; index: number; input: unknown; trusted: boolean; seasoned: boolean; random: () => number }) => { ok: true; output: unknown } | { ok: false; error: string };

/** The right answer of the sim's job: n → n². */
export const truth = (input: unknown) => (input as number) * (input as number);

/** A wrong answer all colluders agree on. */
const wrong = (input: unknown) => -1 - (input as number);

/** Whether colluders that lie part of the time lie on this input: all the same inputs, so they agree. */
const liesOn = (input: unknown, rate: number) => (((input as number) * 2654435761) >>> 0) % 10_000 < rate * 10_000;

export const Behaviors = {
  honest: (({ input }) => ({ ok: true, output: truth(input) })) as Behavior,
  colluder: (({ input }) => ({ ok: true, output: wrong(input) })) as Behavior,
  /** Colluders wrong on the same `rate` of inputs, honest on the rest. */
  partial: (rate: number): Behavior => ({ input }) => ({ ok: true, output: liesOn(input, rate) ? wrong(input) : truth(input) }),
  /** Honest until trusted, then wrong (with its fellow sleepers). */
  sleeper: (({ input, trusted }) => ({ ok: true, output: trusted ? wrong(input) : truth(input) })) as Behavior,
  /** Honest until its vote weighs most (seasoned), then wrong with its fellows: a patient sleeper. */
  patientSleeper: (({ input, seasoned }) => ({ ok: true, output: seasoned ? wrong(input) : truth(input) })) as Behavior,
  failer: (() => ({ ok: false, error: 'failed on purpose' })) as Behavior,
  /**
   * A sleeper that learns of its trust late, as the benchmark's sleepers do (they poll the REST API for it):
   * honest until its `late`-th lease while trusted, then wrong with its fellows. By then it may be seasoned.
   * Stateful: one per volunteer.
   */
  lateSleeper: (late: number): Behavior => {
    let trustedLeases = 0;
    return ({ input, trusted }) => {
      if (trusted) trustedLeases++;
      return { ok: true, output: trustedLeases > late ? wrong(input) : truth(input) };
    };
  },
} as const;

export interface SimVolunteer {
  v: VolunteerState;
  port: FakePort;
  behavior: Behavior;
  identity: string;
  network: string;
  /** Comes back as a new identity when banned (a Sybil). */
  sybil: boolean;
  answered: Set<string>;
}

export interface SimOptions {
  random: () => number;
  validation?: SchedulerOptions['validation'];
  trust?: SchedulerOptions['trust'];
  /** Leases a volunteer holds at once. */
  credits?: number;
  /** Chance that a volunteer answers nothing in a round (a slower machine): frames then arrive out of step. */
  lag?: number;
}

export class SimSwarm {
  readonly clock = new FakeClock();
  readonly store = new SqliteStore({ file: ':memory:' });
  readonly scheduler: Scheduler;
  readonly volunteers: SimVolunteer[] = [];
  private readonly credits: number;
  /** Identities banned so far. */
  bans = 0;

  constructor(private readonly opts: SimOptions) {
    this.scheduler = new Scheduler({
      clock: this.clock,
      store: this.store,
      heartbeatTimeoutMs: 3_600_000,
      graceMs: 100,
      commitIntervalMs: 1,
      random: opts.random,
      ...(opts.validation ? { validation: opts.validation } : {}),
      ...(opts.trust ? { trust: opts.trust } : {}),
    });
    this.credits = opts.credits ?? 2;
    this.scheduler.events.on('activity', (a: { kind: string }) => {
      if (a.kind === 'identity-banned') this.bans++;
    });
  }

  async addJob(total: number, mode: ValidationMode, opts: { checks?: Array<{ input: unknown; output: unknown }>; quorum?: number; maxReplicas?: number } = {}): Promise<JobState> {
    const validation = mode === 'none' ? undefined : { mode, quorum: opts.quorum ?? 2, maxReplicas: opts.maxReplicas ?? 6, compare: 'exact' as const };
    const record = jobRecord({ total, createdAt: this.clock.now(), timeoutMs: 60_000, maxAttempts: 3, ...(validation ? { validation } : {}) });
    const inputs = Array.from({ length: total }, (_, i) => i);
    await this.store.insertJob(record, inputs, opts.checks ?? []);
    return this.scheduler.addJob(record, 0, opts.checks ?? []);
  }

  /** Let claims land and dispatch (K1), then make everything pending durable and learn what the store says. */
  async settle(): Promise<void> {
    for (let k = 0; k < 3; k++) {
      this.scheduler.pump();
      await this.scheduler.settle();
    }
    this.scheduler.pump();
  }

  /**
   * A volunteer on `network` with a new identity (or `identity`, to connect it again); `trust` starts it
   * trusted or seasoned (as if it had passed its checks), `vouched` as the operator's own machine.
   */
  join(behavior: Behavior, opts: { network?: string; vouched?: boolean; sybil?: boolean; trust?: 'trusted' | 'seasoned'; identity?: string } = {}): SimVolunteer {
    const id = opts.identity ?? `i_${randomBytes(8).toString('base64url')}`;
    const network = opts.network ?? `10.${this.volunteers.length >> 8}.${this.volunteers.length & 255}.0/24`;
    const fresh = newIdentity(id, `key-${id}`, network, this.clock.now());
    const earned = opts.trust ? { ...fresh, state: TrustState.trusted, trustedChecks: opts.trust === 'seasoned' ? 100 : 0 } : fresh;
    let record = this.scheduler.book.get(id) ?? this.scheduler.book.hold(earned, true);
    if (opts.vouched) record = this.scheduler.book.vouch(id) ?? record;
    const port = new FakePort();
    const v = this.scheduler.join(port, 1, 'node', 'sim', false, record, network);
    const sim: SimVolunteer = { v, port, behavior, identity: id, network, sybil: opts.sybil ?? false, answered: new Set() };
    this.volunteers.push(sim);
    this.scheduler.want(v, this.credits);
    return sim;
  }

  /** One round: claims and leases to everyone with credits, then every volunteer answers what it holds. */
  async round(): Promise<number> {
    await this.settle();
    let answered = 0;
    const order = [...this.volunteers];
    if (this.opts.lag) shuffle(order, this.opts.random);
    for (const sim of order) {
      if (!this.scheduler.volunteers.has(sim.v.id)) continue;
      if (this.opts.lag && this.opts.random() < this.opts.lag) continue;
      const items: TaskOutcome[] = [];
      const trusted = this.scheduler.book.isTrusted(sim.identity);
      const seasoned = this.scheduler.book.votes(sim.identity) >= 2;
      for (const a of sim.v.attempts.values()) {
        if (sim.answered.has(a.id)) continue;
        sim.answered.add(a.id);
        const input = a.check ? a.check.input : a.job.inputs[a.index];
        const out = sim.behavior({ job: a.job.id, index: a.index, input, trusted, seasoned, random: this.opts.random });
        items.push(out.ok ? { a: a.id, ok: true, output: out.output } : { a: a.id, ok: false, error: out.error });
      }
      if (items.length > 0) this.scheduler.results(sim.v, items, items.length);
      answered += items.length;
      // Leases the master aborted (their task settled elsewhere) come back as credits, as a real volunteer asks.
      const missing = this.credits - sim.v.credits - sim.v.attempts.size;
      if (missing > 0 && this.scheduler.volunteers.has(sim.v.id)) this.scheduler.want(sim.v, missing);
    }
    this.replaceBanned();
    this.clock.advance(10);
    await this.scheduler.writer.flush();
    return answered;
  }

  /** Banned volunteers leave; a Sybil comes straight back as a new identity on its network. */
  private replaceBanned(): void {
    for (const sim of [...this.volunteers]) {
      if (this.scheduler.book.get(sim.identity)?.state !== TrustState.banned) continue;
      this.volunteers.splice(this.volunteers.indexOf(sim), 1);
      this.scheduler.leave(sim.v, 'banned');
      if (sim.sybil) this.join(sim.behavior, { network: sim.network, sybil: true });
    }
  }

  /** Rounds until `job` is finished (or `maxRounds`); then its results, read back from the store. */
  async run(job: JobState, maxRounds = 100_000): Promise<ResultLine[]> {
    for (let r = 0; r < maxRounds && !job.isFinished(); r++) {
      const answered = await this.round();
      if (answered === 0 && r % 50 === 49) this.scheduler.tick();
    }
    await this.scheduler.writer.flush();
    const lines: ResultLine[] = [];
    for (let after = -1; ; ) {
      const page = await this.store.readResults(job.id, after, 5000);
      if (page.length === 0) break;
      lines.push(...page);
      after = page[page.length - 1]!.index;
    }
    return lines;
  }

  async close(): Promise<void> {
    await this.scheduler.writer.flush();
    await this.store.close();
  }
}

function shuffle<T>(xs: T[], random: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}

/** Wrong results, failures and cost of a finished sim job. */
export function score(lines: ResultLine[], job: JobState): { wrong: number; failed: number; inconclusive: number; replicasPerTask: number } {
  let wrongCount = 0;
  let failed = 0;
  for (const l of lines) {
    if (l.status === 'failed') failed++;
    else if (l.output !== truth(l.index)) wrongCount++;
  }
  return { wrong: wrongCount, failed, inconclusive: job.validation?.inconclusive ?? 0, replicasPerTask: (job.validation?.replicas ?? job.spec.total) / job.spec.total };
}
