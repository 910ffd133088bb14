/** Parameter study of validation in the in-process swarm (see sim.ts): `node --import tsx server/src/validation/study.ts`. */
import { prngOf } from './random.ts';
import { Behaviors, score, SimSwarm, type Behavior } from './sim.ts';

const scenarios: Record<string, { bad?: Behavior; make?: () => Behavior; sybil?: boolean }> = {
  honest: { bad: Behaviors.honest },
  colluding: { bad: Behaviors.colluder },
  'colluding 30%': { bad: Behaviors.partial(0.3) },
  sleepers: { bad: Behaviors.sleeper },
  'patient sleepers': { bad: Behaviors.patientSleeper },
  sybils: { bad: Behaviors.colluder, sybil: true },
  failers: { bad: Behaviors.failer },
  'low-rate 2%': { bad: Behaviors.partial(0.02) },
  'late sleepers': { make: () => Behaviors.lateSleeper(Number(process.env.STUDY_LATE ?? 20)) },
};

const tasks = Number(process.argv[2] ?? 10_000);
const seeds = Number(process.argv[3] ?? 3);
const mode = (process.argv[4] ?? 'adaptive') as 'adaptive' | 'strict';
const only = process.argv[5];
// STUDY_FIRST_SEED, STUDY_CREDITS, STUDY_LAG vary the swarm: where seeds start, leases per volunteer, the
// chance a volunteer skips a round (frames out of step, as on real sockets).
const firstSeed = Number(process.env.STUDY_FIRST_SEED ?? 1);
const credits = process.env.STUDY_CREDITS ? Number(process.env.STUDY_CREDITS) : undefined;
const lag = process.env.STUDY_LAG ? Number(process.env.STUDY_LAG) : undefined;
for (const [name, sc] of Object.entries(scenarios)) {
  if (only && name !== only) continue;
  const rows: string[] = [];
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const random = prngOf(seed);
    const swarm = new SimSwarm({ random, ...(credits ? { credits } : {}), ...(lag ? { lag } : {}) });
    const job = await swarm.addJob(tasks, mode);
    const honest = new Set<string>();
    for (let k = 0; k < 100; k++) {
      const v = swarm.join(k % 5 === 0 ? (sc.make?.() ?? sc.bad ?? Behaviors.honest) : Behaviors.honest, { sybil: k % 5 === 0 && (sc.sybil ?? false) });
      if (k % 5 !== 0) honest.add(v.identity);
    }
    const t0 = Date.now();
    const lines = await swarm.run(job, 200_000);
    const s = score(lines, job);
    const honestBanned = (await swarm.store.listIdentities(0, 10_000)).rows.filter((r) => honest.has(r.id) && r.state === 'banned').length;
    rows.push(`seed ${seed}: wrong ${s.wrong}, failed ${s.failed} (inconclusive ${s.inconclusive}), replicas/task ${s.replicasPerTask.toFixed(3)}, bans ${swarm.bans} (honest ${honestBanned}), finished ${job.isFinished()} ${lines.length}/${tasks}, ${Date.now() - t0} ms`);
    await swarm.close();
  }
  console.log(`${name} (${mode})\n  ${rows.join('\n  ')}`);
}
