/**
 * Result validation through the real scheduler (lease core, quorum, trust book, group commit into SQLite),
 * with a fake clock and seeded randomness: SPEC.md section V end to end, without sockets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, FakePort } from '../testing/doubles.ts';
import { SqliteStore } from '../store/sqlite/store.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { jobRecord } from '../store/contract.ts';
import { prngOf } from './random.ts';
import { describe as describeActivity } from '../feed/events.ts';
import type { Activity } from '../scheduler/scheduler.ts';
import { Behaviors, score, SimSwarm, truth, type Behavior, type SimVolunteer } from './sim.ts';
import { newIdentity } from './trust.ts';
import type { Probation } from './probation.ts';
import { MIN_DERIVED_KNOWN } from './job.ts';

const swarms: SimSwarm[] = [];
afterEach(async () => {
  for (const s of swarms.splice(0)) await s.close();
});

function swarm(seed = 1, opts: Partial<ConstructorParameters<typeof SimSwarm>[0]> = {}): SimSwarm {
  const s = new SimSwarm({ random: prngOf(seed), ...opts });
  swarms.push(s);
  return s;
}

/** Which volunteers held a lease of `index` in the frames sent so far. */
function holders(s: SimSwarm, jobId: string, index: number): string[] {
  return s.volunteers.filter((v) => v.port.of('tasks').some((f) => f.items.some((t) => t.job === jobId && t.i === index))).map((v) => v.identity);
}

/** `sim` answers every lease it holds with `output(input)` and asks for `credits` more; the indices it answered. */
function answer(s: SimSwarm, sim: SimVolunteer, output: (input: number) => number, credits = 0): number[] {
  const held = [...sim.v.attempts.values()].filter((a) => !sim.answered.has(a.id));
  for (const a of held) sim.answered.add(a.id);
  s.scheduler.results(sim.v, held.map((a) => ({ a: a.id, ok: true as const, output: output((a.check ? a.check.input : a.job.inputs[a.index]) as number) })), credits);
  return held.map((a) => a.index);
}

const lie = (n: number) => -1 - n;
const square = (n: number) => n * n;

describe('validation in the scheduler (SPEC.md V)', () => {
  it('[V1] an anonymous volunteer gets no validated work, and all of a job that needs none', async () => {
    const s = swarm();
    const validated = await s.addJob(5, 'adaptive');
    const port = new FakePort();
    const anon = s.scheduler.join(port, 1, 'node', 'test');
    s.scheduler.want(anon, 4);
    await s.settle();
    expect(port.of('tasks')).toHaveLength(0);
    const plain = await s.addJob(3, 'none');
    await s.settle();
    expect(port.of('tasks').flatMap((f) => f.items).map((t) => t.job)).toEqual([plain.id, plain.id, plain.id]);
    expect(validated.counts.leased).toBe(0);
  });

  it('[V6] never two replicas of a task to one identity, even over two connections; distinct networks while another is online', async () => {
    const s = swarm();
    const job = await s.addJob(1, 'strict', { quorum: 3 });
    const a = s.join(Behaviors.honest, { network: 'net-a' });
    s.join(Behaviors.honest, { network: 'net-a', identity: a.identity }); // the same volunteer in a second tab
    const a2 = s.join(Behaviors.honest, { network: 'net-a' }); // another identity on the same network
    const b = s.join(Behaviors.honest, { network: 'net-b' });
    const c = s.join(Behaviors.honest, { network: 'net-c' });
    await s.settle();
    expect(holders(s, job.id, 0).sort()).toEqual([a.identity, b.identity, c.identity].sort());
    expect(holders(s, job.id, 0)).not.toContain(a2.identity);
    // The same identity's second connection got nothing: one replica per identity.
    expect(s.volunteers.filter((v) => v.identity === a.identity).map((v) => v.port.of('tasks').length).sort()).toEqual([0, 1]);
  });

  it('[V6] on one network only, replicas go to distinct identities of it', async () => {
    const s = swarm();
    const job = await s.addJob(1, 'strict', { quorum: 2 });
    const [x, y] = [s.join(Behaviors.honest, { network: 'lan' }), s.join(Behaviors.honest, { network: 'lan' })];
    await s.settle();
    expect(holders(s, job.id, 0).sort()).toEqual([x.identity, y.identity].sort());
  });

  it('[V9] a seasoned result stands provisionally, out of the results stream, until its volunteer passes probation', async () => {
    const s = swarm(7, { validation: { spotCheck: 0, probation: 2 } });
    const job = await s.addJob(3, 'adaptive');
    const alone = s.join(Behaviors.honest, { trust: 'seasoned' });
    await s.round();
    await s.scheduler.writer.flush();
    expect(job.validation!.awaiting).toBe(2); // two leases (prefetch), two provisional results
    expect(await s.store.readResults(job.id, -1, 10)).toEqual([]);
    // Two checks passed later (its replies to known answers from the operator would do; here, corroborations):
    const other = s.join(Behaviors.honest, { trust: 'seasoned' });
    const lines = await s.run(job);
    expect(lines.map((l) => l.status === 'done' && l.output)).toEqual([0, 1, 4]);
    expect(s.scheduler.book.get(alone.identity)!.checksPassed).toBeGreaterThanOrEqual(1);
    expect(s.scheduler.book.get(other.identity)!.checksPassed).toBeGreaterThanOrEqual(1);
  });

  it('[V9] probation counts only checks of results returned after the decision\'s own: honest results of a sleeper\'s past, checked late, do not end it', async () => {
    // The benchmark's sleepers: honest votes cast while trusted wait for a seasoned replica; the volunteer is
    // seasoned meanwhile and lies, alone (a provisional result); then those old votes are confirmed.
    const s = swarm(21, { validation: { spotCheck: 0, probation: 2, checkRate: 0 } });
    const job = await s.addJob(12, 'adaptive');
    const honest = s.join(Behaviors.honest, { trust: 'seasoned' });
    let awake = false;
    const sleeper = s.join(({ input }) => ({ ok: true, output: awake ? lie(input as number) : square(input as number) }), { trust: 'trusted' });
    for (let k = 0; k < 4; k++) s.scheduler.book.pass(sleeper.identity); // one check short of seasoned
    await s.settle();
    const past = answer(s, sleeper, square, 2); // weight 1: each waits for a seasoned replica
    await s.settle();
    s.scheduler.book.pass(sleeper.identity); // seasoned now (a check passed elsewhere)
    expect(s.scheduler.book.votes(sleeper.identity)).toBe(2);
    awake = true;
    const lies = answer(s, sleeper, lie); // alone and seasoned: provisional, waiting on its probation
    await s.settle();
    for (const i of lies) expect(job.validation!.snapshot(i)!.waitingOn).toEqual([sleeper.identity]);
    const passed = s.scheduler.book.get(sleeper.identity)!.checksPassed;
    answer(s, honest, square, 2);
    await s.settle();
    expect(answer(s, honest, square).sort()).toEqual([...past].sort()); // the replicas its past waited for
    await s.settle();
    await s.scheduler.writer.flush();
    // Its past is confirmed: two checks passed, as many as its probation asks; they say nothing of the lies.
    expect(s.scheduler.book.get(sleeper.identity)!.checksPassed).toBe(passed + 2);
    for (const i of past) expect(job.validation!.snapshot(i)!.waitingOn).toContain(sleeper.identity);
    const lines = await s.store.readResults(job.id, -1, 100);
    expect(lines.filter((l) => lies.includes(l.index))).toEqual([]);
    for (const i of lies) expect(job.validation!.snapshot(i)!.waitingOn).toEqual([sleeper.identity]);
    // Its next checks are of what it returns now: with one more honest volunteer to meet, it is caught.
    s.join(Behaviors.honest, { trust: 'seasoned' });
    const rest = await s.run(job, 2000);
    expect(rest).toHaveLength(12);
    expect(s.scheduler.book.get(sleeper.identity)!.state).toBe('banned');
    expect(score(rest, job)).toMatchObject({ wrong: 0, failed: 0 });
  });

  it('[V9] agreement among a decision\'s own supporters ends none of its probation: two seasoned liars checking each other settle nothing', async () => {
    const s = swarm(22, { validation: { spotCheck: 1, probation: 2, checkRate: 0 } });
    const job = await s.addJob(40, 'adaptive');
    const a = s.join(Behaviors.colluder, { trust: 'seasoned' });
    const b = s.join(Behaviors.colluder, { trust: 'seasoned' });
    s.join(Behaviors.honest, { trust: 'seasoned' }); // online, never answers: replicas could go to it
    await s.settle();
    // Every result draws its spot check (a replica to another trusted); each liar takes the other's.
    for (let round = 0; round < 8; round++) {
      answer(s, a, lie, 2);
      answer(s, b, lie, 2);
      await s.settle();
    }
    await s.scheduler.writer.flush();
    const waiting = [...Array(40).keys()].filter((i) => (job.validation!.snapshot(i)?.waitingOn.length ?? 0) > 0);
    expect(waiting.length).toBeGreaterThanOrEqual(8); // many decisions of the two, each waiting on both
    expect(await s.store.readResults(job.id, -1, 100)).toEqual([]);
    expect(s.scheduler.book.get(a.identity)!.checksPassed).toBeGreaterThanOrEqual(8); // passes all the same (V3)
  });

  it('[V9] once the job has known answers a probation needs one: three liars woken together, checking one another, settle nothing', async () => {
    // No known answer is leased to them here (rates 0): agreement among themselves is all they get.
    const s = swarm(23, { validation: { spotCheck: 1, probation: 2, checkRate: 0, probationCheckRate: 0 } });
    const job = await s.addJob(60, 'adaptive', { checks: [{ input: 7, output: 49 }] });
    const liars = [0, 1, 2].map(() => s.join(Behaviors.colluder, { trust: 'seasoned' }));
    s.join(Behaviors.honest, { trust: 'seasoned' }); // online, never answers
    await s.settle();
    for (let round = 0; round < 10; round++) {
      for (const l of liars) answer(s, l, lie, 2);
      await s.settle();
    }
    await s.scheduler.writer.flush();
    const waiting = [...Array(60).keys()].filter((i) => (job.validation!.snapshot(i)?.waitingOn.length ?? 0) > 0);
    expect(waiting.length).toBeGreaterThanOrEqual(10);
    expect(await s.store.readResults(job.id, -1, 100)).toEqual([]);
    for (const l of liars) expect(s.scheduler.book.get(l.identity)!.checksPassed).toBeGreaterThanOrEqual(5);
  });

  it('[V9] without the operator\'s checks a decision needs a known answer only once 16 results have settled into them: an honest swarm\'s results flow during the job', async () => {
    // With the first settled result as the job's one known answer, each volunteer held it once, nothing
    // settled after, and the results waited for the job's end: 282 of 2,000 final by round 200 (V14 then).
    const s = swarm(3);
    const job = await s.addJob(2000, 'adaptive');
    for (const n of ['a', 'b', 'c', 'd']) s.join(Behaviors.honest, { trust: 'seasoned', network: n });
    for (let r = 0; r < 200 && !job.isFinished(); r++) await s.round();
    expect(job.isFinished(), 'still running: its results are measured mid-job').toBe(false);
    expect(job.counts.done, 'results final by round 200').toBeGreaterThanOrEqual(1000);
    // Few of its results get a second seasoned vote, so few become known answers: the rule has not begun.
    expect(job.validation!.knownAnswers).toBeLessThan(MIN_DERIVED_KNOWN);
  });

  /**
   * Three seasoned colluders and a seasoned honest volunteer that never answers, on a job with a known answer
   * none is leased (checkRate and probationCheckRate 0): every wait on a colluder ends up wanting one. `rounds`
   * of the colluders answering every lease they hold. The scheduler's probation index is read, not changed.
   */
  async function knownAnswersDry(rounds: number) {
    const s = swarm(23, { validation: { spotCheck: 1, probation: 2, checkRate: 0, probationCheckRate: 0 } });
    const job = await s.addJob(60, 'adaptive', { checks: [{ input: 7, output: 49 }] });
    const liars = [0, 1, 2].map(() => s.join(Behaviors.colluder, { trust: 'seasoned' }));
    s.join(Behaviors.honest, { trust: 'seasoned' });
    await s.settle();
    const probation = (s.scheduler as unknown as { probation: Probation }).probation;
    let apart = 0;
    for (let round = 0; round < rounds; round++) {
      for (const l of liars) answer(s, l, lie, 2);
      await s.settle();
      for (const l of liars) apart = Math.max(apart, probation.wantingKnown(l.identity, job.validation!)?.size ?? 0);
    }
    /** The results waiting on `l` in the index, as counting and wanting a known answer; together, all that waits on it. */
    const indexed = (l: SimVolunteer) => {
      const counting = probation.indices(l.identity, job.validation!) ?? new Set<number>();
      const wanting = probation.wantingKnown(l.identity, job.validation!) ?? new Set<number>();
      const waitingOn = [...Array(60).keys()].filter((i) => job.validation!.snapshot(i)?.waitingOn.includes(l.identity));
      expect([...counting, ...wanting].sort((a, b) => a - b), 'the index holds what waits, nothing more').toEqual(waitingOn);
      return { counting, wanting };
    };
    return { s, job, liars, apart, indexed };
  }

  it('[V9] results that want a known answer only are set apart: the other checks that keep coming never visit them', async () => {
    // Each passed check used to visit every result waiting on its volunteer (a job's whole backlog, when known
    // answers ran dry).
    const { job, liars, indexed } = await knownAnswersDry(10);
    const tasks = (job.validation as unknown as { tasks: Map<number, { waiting: Map<string, { checks: number }> | null }> }).tasks;
    let apart = 0;
    for (const l of liars) {
      const { counting, wanting } = indexed(l);
      apart += wanting.size;
      for (const i of counting) expect(tasks.get(i)!.waiting!.get(l.identity)!.checks, `task ${i}: still counting`).toBeLessThan(2);
      for (const i of wanting) expect(tasks.get(i)!.waiting!.get(l.identity)!.checks, `task ${i}: has its checks`).toBeGreaterThanOrEqual(2);
    }
    expect(apart, 'waits set apart for a known answer').toBeGreaterThanOrEqual(10);
  });

  it('[V9] a decision held again (a late vote) while it waits for a known answer still waits for one', async () => {
    // Colluders' late replicas on a decision already waiting decide it again; their waits had all their checks
    // but a known answer, and the decision held again dropped them and settled (1-2 wrong results final by
    // round 19 in each of 5 seeds), its dropped waits left in the index.
    const { s, job, liars, apart, indexed } = await knownAnswersDry(26);
    await s.scheduler.writer.flush();
    expect(apart, 'waits wanting a known answer').toBeGreaterThan(0);
    expect(job.isFinished()).toBe(false);
    expect(await s.store.readResults(job.id, -1, 100), 'no result final without a known answer').toEqual([]);
    for (const l of liars) indexed(l);
  });

  it('[V9][V5][V15] a decision that catches someone waits for a known answer too; the caught is suspect meanwhile, and banned once one comes', async () => {
    const suspicion = (s: SimSwarm) => (s.scheduler as unknown as { suspicion: { isSuspect(id: string): boolean } }).suspicion;
    // No known answer is leased while the job runs (probationCheckRate 0): the catching decisions wait.
    const held = swarm(24, { validation: { spotCheck: 1, probation: 2, checkRate: 0, probationCheckRate: 0 } });
    const job = await held.addJob(200, 'adaptive', { checks: [{ input: 7, output: 49 }] });
    const liar = held.join(Behaviors.colluder, { trust: 'seasoned' });
    for (let k = 0; k < 4; k++) held.join(Behaviors.honest, { trust: 'seasoned' });
    for (let r = 0; r < 20 && !suspicion(held).isSuspect(liar.identity); r++) await held.round();
    expect(suspicion(held).isSuspect(liar.identity)).toBe(true);
    for (let r = 0; r < 5; r++) await held.round();
    expect(held.scheduler.book.get(liar.identity)!.state).not.toBe('banned');
    expect(job.isFinished()).toBe(false);
    expect(job.validation!.leases.check + job.validation!.leases.tailCheck).toBe(0);
    // The same swarm where known answers come: the accusation is carried out long before the end of the job.
    const s = swarm(24, { validation: { spotCheck: 1, probation: 2, checkRate: 0, probationCheckRate: 0.5 } });
    const job2 = await s.addJob(200, 'adaptive', { checks: [{ input: 7, output: 49 }] });
    const liar2 = s.join(Behaviors.colluder, { trust: 'seasoned' });
    for (let k = 0; k < 4; k++) s.join(Behaviors.honest, { trust: 'seasoned' });
    for (let r = 0; r < 40 && s.scheduler.book.get(liar2.identity)!.state !== 'banned'; r++) await s.round();
    expect(s.scheduler.book.get(liar2.identity)!.state).toBe('banned');
    expect(job2.isFinished()).toBe(false);
    expect(job2.validation!.leases.check).toBeGreaterThan(0);
  });

  it('[V5][V9] a caught volunteer is banned, its connections closed with 4032, and its results waiting on probation decided again', async () => {
    const s = swarm(3, { validation: { spotCheck: 0, probation: 2 } });
    const job = await s.addJob(40, 'adaptive');
    // A seasoned volunteer turned liar: alone, its wrong results stand provisionally, waiting on its probation.
    const liar = s.join(Behaviors.colluder, { trust: 'seasoned', network: 'net-s' });
    for (let r = 0; r < 3; r++) await s.round();
    expect(job.validation!.awaiting).toBeGreaterThan(0);
    await s.scheduler.writer.flush();
    expect(await s.store.readResults(job.id, -1, 100)).toEqual([]);
    // Honest seasoned volunteers arrive; the liar meets them on replicas and checks, and is outvoted.
    for (let k = 0; k < 3; k++) s.join(Behaviors.honest, { trust: 'seasoned' });
    const events: Array<{ kind: string; rolledBack?: number }> = [];
    s.scheduler.events.on('activity', (a: { kind: string; rolledBack?: number }) => events.push(a));
    const lines = await s.run(job);
    expect(s.scheduler.book.get(liar.identity)!.state).toBe('banned');
    expect(liar.port.closed).toEqual({ code: 4032, reason: 'identity banned for wrong results' });
    const ban = events.find((e) => e.kind === 'identity-banned');
    expect(ban?.rolledBack).toBeGreaterThan(0);
    // The event log says so: the ban and its rollback in one line.
    expect(describeActivity(ban as unknown as Activity, 0).text).toMatch(new RegExp(`^identity ${liar.identity} banned: .*; ${ban!.rolledBack} provisional results? rolled back for validation`));
    expect(score(lines, job)).toMatchObject({ wrong: 0, failed: 0 });
    expect(lines).toHaveLength(40);
  });

  it('[V4] the operator\'s known answers catch a liar with no trusted volunteer around, as ordinary-looking tasks', async () => {
    const s = swarm(2, { validation: { checkRate: 1 } });
    const job = await s.addJob(10, 'adaptive', { checks: [{ input: 3, output: 9 }, { input: 5, output: 25 }] });
    const liar = s.join(Behaviors.colluder);
    const honest = s.join(Behaviors.honest);
    await s.round();
    expect(s.scheduler.book.get(liar.identity)!.state).toBe('banned');
    expect(s.scheduler.book.get(honest.identity)!.checksPassed).toBeGreaterThan(0);
    // What the liar was leased looked like work of the job: its id, an index in range, an input.
    const leases = liar.port.of('tasks').flatMap((f) => f.items);
    for (const t of leases) expect(t).toMatchObject({ job: job.id, i: expect.any(Number) as number });
    expect(leases.every((t) => t.i >= 0 && t.i < 10)).toBe(true);
  });

  it('[V4] a known answer re-issued from a settled result bans one volunteer, then it is retired; the operator\'s stay', async () => {
    const s = swarm(25, { validation: { spotCheck: 1, probation: 1, checkRate: 1, probationCheckRate: 0.5 } });
    const job = await s.addJob(200, 'adaptive', { checks: [{ input: 7, output: 49 }] });
    const honest = [0, 1, 2, 3].map(() => s.join(Behaviors.honest, { trust: 'seasoned' }));
    for (let r = 0; r < 15; r++) await s.round();
    expect(job.validation!.knownAnswers).toBeGreaterThan(3); // settled results re-issued beside the operator's one
    for (const h of honest) s.scheduler.want(h.v, 0); // the honest hold their leases: nothing settles meanwhile
    const retired: boolean[] = [];
    for (let k = 0; k < 6; k++) {
      const before = job.validation!.knownAnswers;
      const liar = s.join(Behaviors.colluder);
      await s.settle();
      const checks = [...liar.v.attempts.values()].filter((a) => a.check);
      expect(checks.length).toBeGreaterThan(0); // checkRate 1: its leases are known answers
      answer(s, liar, lie);
      expect(s.scheduler.book.get(liar.identity)!.state).toBe('banned');
      const caughtBy = checks[0]!.check!; // its first wrong answer banned it
      retired.push(caughtBy.derived === true);
      expect(job.validation!.knownAnswers).toBe(before - (caughtBy.derived ? 1 : 0));
    }
    expect(retired).toContain(true);
  });

  it('[V5][K5] a ban made while an earlier commit is on its way stands: that commit\'s receipt does not bring the identity back', async () => {
    const s = swarm(5);
    const x = s.join(Behaviors.honest);
    await s.scheduler.writer.flush();
    const bans: unknown[] = [];
    s.scheduler.events.on('activity', (a: { kind: string }) => a.kind === 'identity-banned' && bans.push(a));
    const book = s.scheduler.book;
    book.pass(x.identity);
    // The pass is taken into a batch now; the ban comes while that batch is on its way to the store.
    const landing = s.scheduler.writer.flush();
    book.fail(x.identity, 'wrong answer to a known-answer check (test)');
    expect(book.get(x.identity)!.state).toBe('banned');
    await landing;
    // The receipt carries the stored record as of the pass: the ban made since is applied on top of it.
    expect(book.get(x.identity)).toMatchObject({ state: 'banned', checksPassed: 1 });
    await s.scheduler.writer.flush();
    expect(book.get(x.identity)).toMatchObject({ state: 'banned', checksPassed: 1 });
    expect(bans).toHaveLength(1);
  });

  it('[P3][V5] a volunteer banned by its own results frame is leased nothing more, though the frame asks for more', async () => {
    const s = swarm(2, { validation: { checkRate: 1 } });
    const job = await s.addJob(10, 'adaptive', { checks: [{ input: 3, output: 9 }, { input: 5, output: 25 }] });
    const liar = s.join(Behaviors.colluder);
    await s.settle();
    const held = [...liar.v.attempts.values()];
    expect(held.some((a) => a.check)).toBe(true);
    const plain = await s.addJob(5, 'none');
    // Wrong answers to its checks, and credits for as many more leases, in one frame.
    s.scheduler.results(liar.v, held.map((a) => ({ a: a.id, ok: true as const, output: -1 })), held.length);
    expect(s.scheduler.book.get(liar.identity)!.state).toBe('banned');
    await s.settle();
    expect(liar.v.attempts.size).toBe(0);
    expect(s.scheduler.attempts.size).toBe(0);
    expect(plain.counts.leased).toBe(0);
    // The work waits for a volunteer that is there (rule P3: no credits for a connection that has left).
    const honest = s.join(Behaviors.honest);
    await s.settle();
    expect(honest.v.attempts.size).toBeGreaterThan(0);
    expect([...s.scheduler.attempts.values()].every((a) => a.volunteer === honest.v)).toBe(true);
    expect(job.counts.leased).toBe([...honest.v.attempts.values()].filter((a) => a.job === job && !a.check).length);
  });

  it('[P3][V6] a volunteer holds at most 4 leases a thread of a validated job, however short its tasks and many its credits', async () => {
    const s = swarm(7, { credits: 128 });
    const validated = await s.addJob(500, 'adaptive');
    validated.avgMs = 0.1; // as volunteers report for n => n * n
    const a = s.join(Behaviors.honest);
    await s.settle();
    expect(a.v.attempts.size).toBe(4);
    // Beside it, a job of tiny tasks in mode none is prefetched deep (P3).
    const plain = await s.addJob(500, 'none');
    plain.avgMs = 0.1;
    await s.settle();
    const held = [...a.v.attempts.values()];
    expect(held.filter((x) => x.job === validated)).toHaveLength(4);
    expect(held.filter((x) => x.job === plain).length).toBeGreaterThan(100);
  });

  it('[V11] volunteers failing every task on purpose fail none: failures need trusted votes', async () => {
    const s = swarm(4);
    const job = await s.addJob(300, 'adaptive');
    for (let k = 0; k < 20; k++) s.join(k % 4 === 0 ? Behaviors.failer : Behaviors.honest);
    const lines = await s.run(job);
    expect(score(lines, job)).toMatchObject({ wrong: 0, failed: 0 });
    expect(s.bans).toBeGreaterThan(0); // they fail what others complete, in a row: banned (V11)
  });

  it('[V11][T3] a volunteer that takes leases and drops its socket, over and over, fails no task; losses from two identities still do', async () => {
    const s = swarm(8);
    const job = await s.addJob(4, 'adaptive');
    /** `sim` leaves with the leases it holds (a socket dropped), and comes back as the same identity. */
    const drop = async (sim: SimVolunteer): Promise<SimVolunteer> => {
      await s.settle();
      expect(sim.v.attempts.size).toBeGreaterThan(0);
      s.scheduler.leave(sim.v, 'closed');
      s.volunteers.splice(s.volunteers.indexOf(sim), 1);
      return s.join(Behaviors.honest, { identity: sim.identity, network: sim.network });
    };
    let dropper = s.join(Behaviors.honest, { trust: 'seasoned' });
    for (let k = 0; k < 20; k++) dropper = await drop(dropper);
    expect(Math.max(...job.losses)).toBeGreaterThanOrEqual(job.spec.maxLosses); // lost more often than T3 allows one task
    expect(job.isFinished()).toBe(false);
    s.scheduler.leave(dropper.v, 'closed');
    s.volunteers.splice(s.volunteers.indexOf(dropper), 1);
    for (let k = 0; k < 3; k++) s.join(Behaviors.honest, { trust: 'seasoned' });
    expect(score(await s.run(job, 2000), job)).toMatchObject({ wrong: 0, failed: 0 });

    /** A one-task job that crashes whoever runs it, with only `pair` online: losses until it fails (at most 40). */
    const crashing = async (trust: 'seasoned' | undefined) => {
      const crash = await s.addJob(1, 'adaptive');
      for (const v of [...s.volunteers]) {
        s.scheduler.leave(v.v, 'closed');
        s.volunteers.splice(s.volunteers.indexOf(v), 1);
      }
      const pair = [0, 1].map(() => s.join(Behaviors.honest, trust ? { trust } : {}));
      for (let k = 0; k < 40 && !crash.isFinished(); k++) {
        // Whoever holds the task crashes with it; the other takes it before the first is back.
        await s.settle();
        const holder = pair.findIndex((v) => v.v.attempts.size > 0);
        expect(holder).toBeGreaterThanOrEqual(0);
        const sim = pair[holder]!;
        s.scheduler.leave(sim.v, 'closed');
        s.volunteers.splice(s.volunteers.indexOf(sim), 1);
        await s.settle();
        pair[holder] = s.join(Behaviors.honest, { identity: sim.identity, network: sim.network });
      }
      await s.scheduler.writer.flush();
      return s.store.readResults(crash.id, -1, 10);
    };
    const error = (n: number) => `lost its volunteer ${n} times (the task may crash or freeze its host)`;
    // Lost by two trusted identities, it fails after maxLosses losses (T3).
    expect(await crashing('seasoned')).toEqual([{ index: 0, status: 'failed', error: error(8) }]);
    // By untrusted ones only (droppers, or a swarm nobody is trusted in yet), after three times as many.
    expect(await crashing(undefined)).toEqual([{ index: 0, status: 'failed', error: error(24) }]);
  });

  it('[V11] code that always throws fails its tasks once trusted volunteers agree it does', async () => {
    const s = swarm(5);
    const job = await s.addJob(4, 'adaptive');
    for (let k = 0; k < 3; k++) s.join(Behaviors.failer, { trust: 'seasoned' });
    const lines = await s.run(job);
    expect(lines.map((l) => l.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(s.bans).toBe(0);
  });

  it('[V12] results that seasoned volunteers cannot agree on fail as inconclusive after maxReplicas, naming the disagreement', async () => {
    const s = swarm(6);
    const job = await s.addJob(1, 'adaptive', { maxReplicas: 4 });
    let k = 0;
    const random: Behavior = () => ({ ok: true, output: k++ });
    for (let j = 0; j < 5; j++) s.join(random, { trust: 'seasoned' });
    const [line] = await s.run(job);
    expect(line).toMatchObject({ index: 0, status: 'failed' });
    expect((line as { error: string }).error).toMatch(/^inconclusive: 4 results and no agreement \(output [0-9a-f]{16}: 1 result, 2 trusted votes;/);
    expect(job.validation!.inconclusive).toBe(1);
  });

  it('[V8] strict: every result has quorum agreeing identities, one of them trusted', async () => {
    const s = swarm(8);
    const job = await s.addJob(60, 'strict');
    s.join(Behaviors.honest, { trust: 'trusted' });
    for (let k = 0; k < 6; k++) s.join(Behaviors.honest);
    const lines = await s.run(job);
    expect(score(lines, job)).toMatchObject({ wrong: 0, failed: 0 });
    for (const i of [0, 17, 59]) {
      const d = await s.store.taskDetail(job.id, i);
      const accepted = d!.replicas!.filter((r) => r.verdict === 'accepted');
      expect(new Set(accepted.map((r) => r.identity)).size).toBeGreaterThanOrEqual(2);
    }
    expect(job.validation!.replicas / 60).toBeGreaterThanOrEqual(2);
  });

  it('[V10] a swarm with nobody trusted and no checks bootstraps its trust, and two colluders cannot validate each other', async () => {
    const s = swarm(9);
    const job = await s.addJob(400, 'adaptive');
    for (let k = 0; k < 12; k++) s.join(k < 2 ? Behaviors.colluder : Behaviors.honest);
    const lines = await s.run(job);
    expect(score(lines, job)).toMatchObject({ wrong: 0, failed: 0 });
    expect(s.bans).toBe(2);
  });

  it('[V10][V9] four honest volunteers on one network finish every task: trust, seasoning and every decision come within the swarm', async () => {
    // Two trusted first left the other two no third untrusted peer to bootstrap with (a stall at the start);
    // tasks all four had voted on waited for a weightier replica nobody was left to give (a stall at the tail).
    for (const seed of [1, 2, 3]) {
      const s = swarm(seed);
      const job = await s.addJob(400, 'adaptive');
      for (let k = 0; k < 4; k++) s.join(Behaviors.honest, { network: '127.0.0.0/24' });
      const lines = await s.run(job, 3000);
      expect(lines, `seed ${seed}`).toHaveLength(400);
      expect(score(lines, job), `seed ${seed}`).toMatchObject({ wrong: 0, failed: 0 });
    }
  });

  it('[V13] votes, trust and bans survive a restart: the job resumes and nothing is accepted twice', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-v13-'));
    const file = path.join(dir, 'db.sqlite');
    const store = new SqliteStore({ file });
    const clock = new FakeClock();
    const first = new Scheduler({ clock, store, heartbeatTimeoutMs: 3_600_000, commitIntervalMs: 1, random: prngOf(11) });
    const record = jobRecord({ total: 30, validation: { mode: 'adaptive', quorum: 2, maxReplicas: 6, compare: 'exact' } });
    const inputs = Array.from({ length: 30 }, (_, i) => i);
    await store.insertJob(record, inputs);
    const job = first.addJob(record);
    const ids = ['i_a', 'i_b', 'i_c', 'i_liar'];
    const ports = ids.map((id, k) => {
      const seasoned = { ...newIdentity(id, `k-${id}`, `n${k}`, 0), state: 'trusted' as const, trustedChecks: 100 };
      const port = new FakePort();
      const v = first.join(port, 1, 'node', 't', false, first.book.hold(seasoned, true), `n${k}`);
      first.want(v, 2);
      return { id, v, port };
    });
    first.pump();
    await first.settle();
    first.pump();
    // Answer one round: the liar lies; then "crash" (no drain), keeping only what the group commit made durable.
    for (const { id, v } of ports) {
      const items = [...v.attempts.values()].map((a) => ({ a: a.id, ok: true as const, output: id === 'i_liar' ? -1 : truth(a.index) }));
      first.results(v, items);
    }
    await first.settle();
    const before = (await store.readResults(job.id, -1, 100)).map((l) => JSON.stringify(l));
    const liar = await store.getIdentity('i_liar');
    const replicasBefore = (await store.getJob(job.id))!.replicas;
    expect(replicasBefore).toBeGreaterThan(0);
    await store.close();

    const reopened = new SqliteStore({ file });
    const second = new Scheduler({ clock, store: reopened, heartbeatTimeoutMs: 3_600_000, commitIntervalMs: 1, random: prngOf(12) });
    await reopened.sweep(0); // [D3] the first master's claims are free
    const [counters] = await reopened.activeJobs();
    const resumed = second.addJob((await reopened.getJob(job.id))!, 0, [], counters);
    const honest = ['i_a', 'i_b', 'i_c'].map((id, k) => {
      const record2 = second.book.hold({ ...newIdentity(id, `k-${id}`, `n${k}`, 0), state: 'trusted', trustedChecks: 100 });
      const port = new FakePort();
      return { v: second.join(port, 1, 'node', 't', false, record2, `n${k}`), port };
    });
    for (let r = 0; r < 200 && !resumed.isFinished(); r++) {
      for (const h of honest) second.want(h.v, 2 - h.v.attempts.size);
      second.pump();
      await second.settle();
      second.pump();
      for (const h of honest) second.results(h.v, [...h.v.attempts.values()].map((a) => ({ a: a.id, ok: true as const, output: truth(a.index) })));
      await second.settle();
    }
    expect((await reopened.getJob(job.id))!.replicas).toBeGreaterThan(replicasBefore!);
    const after = await reopened.readResults(job.id, -1, 100);
    expect(after).toHaveLength(30);
    expect(new Set(after.map((l) => l.index)).size).toBe(30);
    for (const l of after) expect(l).toEqual({ index: l.index, status: 'done', output: truth(l.index) });
    for (const line of before) expect(after.map((l) => JSON.stringify(l))).toContain(line);
    if (liar?.state === 'banned') expect((await reopened.getIdentity('i_liar'))!.state).toBe('banned');
    await reopened.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('validation against the attacks of the benchmark, small and seeded (SPEC.md V5, V9, V10, V11)', () => {
  const scenarios: Array<[string, Behavior, boolean]> = [
    ['colluders, always wrong', Behaviors.colluder, false],
    ['colluders wrong 30% of the time', Behaviors.partial(0.3), false],
    ['sleepers, honest until trusted', Behaviors.sleeper, false],
    ['Sybils: banned colluders back as new identities', Behaviors.colluder, true],
    ['volunteers failing every task on purpose', Behaviors.failer, false],
  ];
  for (const [name, bad, sybil] of scenarios) {
    it(`[V5] ${name}: 20% of 50 volunteers, 2,000 tasks, 3 seeds: no wrong result accepted, no task failed, at most 2 results a task`, async () => {
      for (const seed of [1, 2, 3]) {
        const s = swarm(seed);
        const job = await s.addJob(2000, 'adaptive');
        for (let k = 0; k < 50; k++) s.join(k % 5 === 0 ? bad : Behaviors.honest, { sybil: sybil && k % 5 === 0 });
        const lines = await s.run(job);
        const sc = score(lines, job);
        expect(lines).toHaveLength(2000);
        expect(sc, `seed ${seed}`).toMatchObject({ wrong: 0, failed: 0 });
        expect(sc.replicasPerTask, `seed ${seed}`).toBeLessThanOrEqual(2.5);
      }
    });
  }
});

describe('suspects (SPEC.md V15)', () => {
  // Both seeds got a colluder's lone lies into the results stream before V15: caught on one task at 50 ms, it
  // was banned only at 200 ms (the catching decision waited on its supporters' probation), and meanwhile its
  // lone lies on three other tasks passed their probation (it is right 70% of the time) and stood.
  it('[V15] a volunteer caught on one task weighs nothing, and decisions standing on it wait, until the ban: colluders wrong 30% of the time, 10,000 tasks', async () => {
    for (const seed of [3, 22]) {
      const s = swarm(seed);
      const job = await s.addJob(10_000, 'adaptive');
      for (let k = 0; k < 100; k++) s.join(k % 5 === 0 ? Behaviors.partial(0.3) : Behaviors.honest);
      const lines = await s.run(job, 200_000);
      expect(lines).toHaveLength(10_000);
      expect(score(lines, job), `seed ${seed}`).toMatchObject({ wrong: 0, failed: 0 });
      expect(s.bans, `seed ${seed}`).toBe(20); // every colluder, and nobody honest
      expect(job.validation!.parked, `seed ${seed}`).toBeGreaterThan(0);
    }
  });

  // Sleepers that learn of their trust late (the benchmark's poll for it) wake seasoned. Seed 5 (waking at
  // their 40th trusted lease): two of them outvoted an honest seasoned volunteer twice, and their decisions,
  // which caught someone and so needed no known answer, passed probation by agreeing with a third sleeper:
  // 2 wrong results, 2 honest banned. Seed 1 (10th): sleepers' held decisions made three honest supporters of
  // a task suspect, the last honest and one sleeper tied at 2 against 2, and the 6 votes, suspects' counted,
  // failed it as inconclusive (twice); the benchmark saw one such in sleepers seed 6.
  it('[V9][V12][V15] sleepers that wake late and seasoned: every decision needs a known answer, a suspect\'s vote does not count toward maxReplicas', async () => {
    for (const [seed, late] of [
      [5, 40],
      [1, 10],
    ] as const) {
      const s = swarm(seed);
      const job = await s.addJob(10_000, 'adaptive');
      for (let k = 0; k < 100; k++) s.join(k % 5 === 0 ? Behaviors.lateSleeper(late) : Behaviors.honest);
      const lines = await s.run(job, 200_000);
      expect(lines).toHaveLength(10_000);
      expect(score(lines, job), `seed ${seed}`).toMatchObject({ wrong: 0, failed: 0, inconclusive: 0 });
      expect(s.bans, `seed ${seed}`).toBe(20); // every sleeper, and nobody honest
    }
  });

  it('[V15] a job cancelled while its decisions accuse someone leaves nobody suspect', async () => {
    const s = swarm(22);
    const job = await s.addJob(10_000, 'adaptive');
    const bad: string[] = [];
    for (let k = 0; k < 100; k++) {
      const v = s.join(k % 5 === 0 ? Behaviors.partial(0.3) : Behaviors.honest);
      if (k % 5 === 0) bad.push(v.identity);
    }
    const suspicion = (s.scheduler as unknown as { suspicion: { isSuspect(id: string): boolean } }).suspicion;
    const anySuspect = () => bad.some((id) => suspicion.isSuspect(id));
    for (let r = 0; r < 200 && !anySuspect(); r++) await s.round();
    expect(anySuspect()).toBe(true);
    expect(s.scheduler.cancel(job.id)).toBe(true);
    expect(bad.filter((id) => suspicion.isSuspect(id))).toEqual([]);
  });
});

describe('the end of a validated job (SPEC.md V14)', () => {
  it('[V14] results waiting on probation at the end are corroborated by idle trusted volunteers, or their probation is waived in a swarm too small to check them', async () => {
    const s = swarm(13, { validation: { spotCheck: 0, probation: 1000 } });
    const job = await s.addJob(30, 'adaptive');
    const a = s.join(Behaviors.honest, { trust: 'seasoned' });
    const b = s.join(Behaviors.honest, { trust: 'seasoned' });
    const lines = await s.run(job, 500);
    expect(lines).toHaveLength(30);
    expect(score(lines, job)).toMatchObject({ wrong: 0, failed: 0 });
    // No probation could end by checks (1,000 of them): results were corroborated, then the rest waived.
    expect(job.validation!.replicas).toBeGreaterThan(30);
    expect(job.validation!.replicas).toBeLessThanOrEqual(60);
    for (const v of [a, b]) expect(s.scheduler.book.get(v.identity)!.checksPassed).toBeGreaterThan(0);
    // [V4] Results that stand with their probation waived were never checked: none is re-issued as a known answer.
    expect(job.validation!.knownAnswers).toBe(0);
  });
});
