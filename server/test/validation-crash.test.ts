/**
 * kill -9 of the master in the middle of a validated job (SPEC.md V13, S10): votes, trust and bans are durable,
 * so after the restart nothing wrong is accepted, nothing twice, and a liar banned before the kill stays banned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { IdentityRow, ResultLine } from '@barnraise/shared';
import { identityIdOf } from '../src/validation/identity.ts';
import { fileIdentity } from '../src/worker/identity.ts';
import { api, expectExactlyOnce, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';

const token = 'validation-crash-token';
const dataDir = tempDir();
const idDir = tempDir();
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(idDir, { recursive: true, force: true });
});

// A liar is a worker started with BARNRAISE_TEST_LIE set: its threads see it in process.env.
const code = `export default (n) => { const end = Date.now() + 3; while (Date.now() < end); return process.env.BARNRAISE_TEST_LIE ? -1 - n : n * n; }`;
const TOTAL = 1200;
const VOUCH = 'crash-test-vouch-key';

describe('[V13][S10] kill -9 of the master mid-validation', () => {
  it('after the restart every result is right and there once, acknowledged ones unchanged, the liar still banned', async () => {
    const env = { BARNRAISE_HEARTBEAT_MS: '500', BARNRAISE_VOUCH_KEY: VOUCH };
    let master: MasterProc = await startMaster({ dataDir, token, env });
    procs.push(master);
    const port = master.port;
    let client = api(master.url, token);
    const job = await client.createJob({ name: 'squares', code, inputs: Array.from({ length: TOTAL }, (_, i) => i), validation: { mode: 'adaptive' } });
    const id = (name: string) => path.join(idDir, `${name}.json`);
    // The anchor: the operator's own machine, vouched. Three honest strangers and one liar.
    const worker = (name: string, extra: string[] = [], lie = false) => {
      const p = startWorker(master.url, 1, ['--identity', id(name), ...extra], lie ? { BARNRAISE_TEST_LIE: '1' } : {});
      procs.push(p);
      return p;
    };
    worker('lab', ['--vouch-key', VOUCH]);
    for (const name of ['a', 'b', 'c']) worker(name);
    const liar = worker('liar', [], true);
    const liarId = identityIdOf((await fileIdentity(await waitFor('liar identity file', () => fs.existsSync(id('liar')) && id('liar')))).key);

    const identity = async (i: string) => (await (await client.raw(`/api/identities/${i}`, { headers: client.headers })).json()) as IdentityRow;
    await waitFor('the liar banned', async () => (await identity(liarId)).trust === 'banned', 60_000, 200);
    expect(await liar.exited).toBe(2);
    await waitFor('a good part done', async () => (await client.job(job.id)).counts.done >= 300, 90_000, 100);
    const before: ResultLine[] = await client.results(job.id);
    expect(before.length).toBeGreaterThan(0);
    expect(await master.kill('SIGKILL')).toBe('SIGKILL');

    master = await startMaster({ dataDir, token, env, port });
    procs.push(master);
    client = api(master.url, token);
    expect((await identity(liarId)).trust).toBe('banned');
    // The liar comes back after the restart and is refused at hello (4032): it exits again with code 2.
    const back = worker('liar', [], true);
    expect(await back.exited).toBe(2);

    const final = await waitFor('job completed after restart', async () => {
      const j = await client.job(job.id);
      return j.status === 'completed' && j;
    }, 150_000, 200);
    expect(final.counts).toMatchObject({ done: TOTAL, failed: 0 });
    expect(final.validation).toMatchObject({ mode: 'adaptive', inconclusive: 0 });
    const lines = await client.results(job.id);
    expect(expectExactlyOnce(lines, TOTAL, (n) => n * n)).toEqual([]);
    const byIndex = new Map(lines.map((l) => [l.index, l]));
    for (const b of before) expect(byIndex.get(b.index), `acknowledged result ${b.index} kept`).toEqual(b);
  }, 300_000);
});
