/**
 * The validation benchmark's scenarios and its arithmetic, with no I/O: who in the swarm is adversarial for
 * a seed, the loopback address (and so the /24) each volunteer connects from, how a results stream is
 * scored against n², and how seeds add up into one row. The behaviours themselves are sim.ts's, so the
 * in-process study and this benchmark script the same volunteers.
 */
import type { ResultLine } from '@barnraise/shared';
import { prngOf } from '../../../server/src/validation/random.ts';
import { Behaviors, truth, type Behavior } from '../../../server/src/validation/sim.ts';

export { truth };

/** How one volunteer behaves. */
export const Role = {
  honest: 'honest',
  /** Always wrong, all with the same wrong answer. */
  colluder: 'colluder',
  /** Wrong on the same 30% of inputs as its fellows. */
  partial30: 'partial30',
  /** Wrong on the same 2% of inputs: the low-rate cheater. */
  partial2: 'partial2',
  /** Honest until its identity is trusted, then wrong (with its fellow sleepers). */
  sleeper: 'sleeper',
  /** Honest until its identity is seasoned (its vote weighs full), then wrong. */
  patientSleeper: 'patientSleeper',
  /** Fails every task on purpose. */
  failer: 'failer',
  /** Drops its socket as soon as it holds leases, and comes back (a lost lease each, SPEC T3/V11). */
  dropper: 'dropper',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** The behaviour of a role (sim.ts's); a sleeper's `trusted` is whether it reached the trust it waits for. */
export function behaviorOf(role: Role): Behavior {
  switch (role) {
    case Role.honest:
      return Behaviors.honest;
    case Role.colluder:
      return Behaviors.colluder;
    case Role.partial30:
      return Behaviors.partial(0.3);
    case Role.partial2:
      return Behaviors.partial(0.02);
    case Role.sleeper:
    case Role.patientSleeper:
      return Behaviors.sleeper;
    case Role.failer:
    case Role.dropper: // it drops its socket before it computes anything (scripted-volunteer.ts)
      return Behaviors.failer;
  }
}

/** The trust labels (GET /api/identities/:id) at which a sleeper of this role starts lying; null: not a sleeper. */
export function wakesAt(role: Role): ReadonlySet<string> | null {
  if (role === Role.sleeper) return new Set(['trusted', 'seasoned', 'vouched']);
  if (role === Role.patientSleeper) return new Set(['seasoned', 'vouched']);
  return null;
}

export interface Scenario {
  /** Short key for `--scenario` and the JSON report. */
  key: string;
  /** As the table shows it. */
  name: string;
  /** What the adversarial fifth does. */
  bad: Role;
  /** A banned adversary comes straight back with a new identity from its network. */
  sybil: boolean;
  mode: 'adaptive' | 'strict';
}

const scenario = (key: string, name: string, bad: Role, opts: { sybil?: boolean; mode?: 'adaptive' | 'strict' } = {}): Scenario => ({
  key,
  name,
  bad,
  sybil: opts.sybil ?? false,
  mode: opts.mode ?? 'adaptive',
});

/** The attacks of issue 10, in the order the table shows them. */
export const SCENARIOS: readonly Scenario[] = [
  scenario('honest', 'honest swarm', Role.honest),
  scenario('colluding', 'colluders, always wrong', Role.colluder),
  scenario('colluding-30', 'colluders, wrong 30%', Role.partial30),
  scenario('sleepers', 'sleepers (wrong once trusted)', Role.sleeper),
  scenario('patient-sleepers', 'sleepers (wrong once seasoned)', Role.patientSleeper),
  scenario('sybils', 'Sybils (banned colluders return)', Role.colluder, { sybil: true }),
  scenario('failers', 'failers (fail every task)', Role.failer),
  scenario('droppers', 'droppers (drop every lease)', Role.dropper),
  scenario('low-rate', 'low-rate cheaters 2%, adaptive', Role.partial2),
  scenario('low-rate-strict', 'low-rate cheaters 2%, strict', Role.partial2, { mode: 'strict' }),
];

/**
 * Which of `n` volunteers are adversarial for `seed`: exactly round(n × fraction) of them, drawn by a
 * seeded shuffle, so a seed replays the same swarm.
 */
export function assignRoles(n: number, fraction: number, seed: number, bad: Role): Role[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const random = prngOf(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const roles: Role[] = Array.from({ length: n }, () => Role.honest);
  for (const k of order.slice(0, Math.round(n * fraction))) roles[k] = bad;
  return roles;
}

/**
 * The loopback address volunteer `k` connects from: 127.A.B.1, a /24 of its own (Linux routes all of
 * 127.0.0.0/8 to lo), so the master sees as many networks as volunteers. Starts at 127.10.0.0/24.
 */
export function loopbackAddress(k: number): string {
  if (!Number.isInteger(k) || k < 0 || k >= 240 * 256) throw new RangeError(`no loopback /24 for volunteer ${k}`);
  return `127.${10 + (k >> 8)}.${k & 255}.1`;
}

/** The volunteer whose /24 (as the master names networks, `127.10.3.0/24`) `loopbackAddress` gave; -1 for another. */
export function volunteerOf(network: string): number {
  const m = /^127\.(\d+)\.(\d+)\.0\/24$/.exec(network);
  return m && Number(m[1]) >= 10 ? ((Number(m[1]) - 10) << 8) + Number(m[2]) : -1;
}

export interface Score {
  /** Result lines read. */
  lines: number;
  /** Accepted results that are not n². */
  wrong: number;
  failed: number;
  /** Indices with no line, and indices with more than one (rule E1). */
  missing: number;
  duplicates: number;
  /** The first few wrong or failed indices, to look them up. */
  examples: number[];
}

/** Score a job's results stream against n² for every index below `total`. */
export function scoreResults(lines: Iterable<ResultLine>, total: number): Score {
  const seen = new Uint8Array(total);
  const s: Score = { lines: 0, wrong: 0, failed: 0, missing: 0, duplicates: 0, examples: [] };
  for (const l of lines) {
    s.lines++;
    if (l.index < 0 || l.index >= total || seen[l.index]) {
      s.duplicates++;
      continue;
    }
    seen[l.index] = 1;
    const bad = l.status === 'failed' ? (s.failed++, true) : l.output !== truth(l.index) ? (s.wrong++, true) : false;
    if (bad && s.examples.length < 5) s.examples.push(l.index);
  }
  for (let i = 0; i < total; i++) if (!seen[i]) s.missing++;
  return s;
}

/** One seed's run of a scenario. */
export interface SeedRun {
  seed: number;
  /** The job completed (an unfinished one has missing results by nature: not counted as broken). */
  finished: boolean;
  score: Score;
  replicasPerTask: number;
  /** Identities the master banned, and of them those of honest volunteers. */
  bans: number;
  honestBanned: number;
  ms: number;
}

/** A scenario over its seeds: totals where any one counts (wrong, failed), spreads where cost varies. */
export interface Aggregate {
  seeds: number;
  wrong: number;
  /** Seeds with at least one wrong result accepted. */
  seedsWithWrong: number;
  failed: number;
  honestBanned: number;
  /** Finished runs whose stream lacks or repeats an index (rule E1). */
  broken: number;
  /** Seeds whose job did not complete. */
  unfinished: number[];
  replicas: { mean: number; max: number };
  bans: { mean: number; min: number; max: number };
  ms: { mean: number; max: number };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function aggregate(runs: readonly SeedRun[]): Aggregate {
  if (runs.length === 0) throw new RangeError('no runs to aggregate');
  const replicas = runs.map((r) => r.replicasPerTask);
  const bans = runs.map((r) => r.bans);
  const ms = runs.map((r) => r.ms);
  return {
    seeds: runs.length,
    wrong: runs.reduce((a, r) => a + r.score.wrong, 0),
    seedsWithWrong: runs.filter((r) => r.score.wrong > 0).length,
    failed: runs.reduce((a, r) => a + r.score.failed, 0),
    honestBanned: runs.reduce((a, r) => a + r.honestBanned, 0),
    broken: runs.reduce((a, r) => a + (r.finished ? r.score.missing + r.score.duplicates : 0), 0),
    unfinished: runs.filter((r) => !r.finished).map((r) => r.seed),
    replicas: { mean: mean(replicas), max: Math.max(...replicas) },
    bans: { mean: mean(bans), min: Math.min(...bans), max: Math.max(...bans) },
    ms: { mean: mean(ms), max: Math.max(...ms) },
  };
}

/**
 * A replay selection, `key[:seeds]` joined by commas, seeds as `3`, `2-5` or `1+4+7`: for example
 * `sleepers:3,sybils:1-2`. A key alone means the seeds given as `defaultSeeds`.
 */
export function parseReplay(text: string, defaultSeeds: readonly number[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, spec] = part.split(':') as [string, string | undefined];
    if (!SCENARIOS.some((s) => s.key === key)) throw new Error(`unknown validation scenario "${key}"; choose from ${SCENARIOS.map((s) => s.key).join(', ')}`);
    let seeds = [...defaultSeeds];
    if (spec) {
      const range = /^(\d+)-(\d+)$/.exec(spec);
      seeds = range ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i) : spec.split('+').map(Number);
      if (seeds.length === 0 || seeds.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`bad seeds "${spec}" for ${key}`);
    }
    out.set(key, seeds);
  }
  return out;
}
