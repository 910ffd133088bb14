/**
 * [S11] SIGTERM drains: the master stops leasing, makes every accepted outcome durable, hands its leases
 * back (not counted as losses), closes volunteers with 4010, ends followers' streams and exits 0.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode, CloseReason } from '@barnraise/shared';
import { api, expectExactlyOnce, RawVolunteer, startMaster, tempDir, waitFor, type MasterProc } from './helpers.ts';

const token = 'shutdown-test-token';
const dataDir = tempDir();
const masters: MasterProc[] = [];
afterAll(async () => {
  for (const p of masters) await p.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const code = 'export default (n) => n + 100';

describe('[S11] SIGTERM', () => {
  it('drains: outcomes durable, leases handed back unlost, volunteers told, streams ended, exit 0; a restart resumes', async () => {
    let master = await startMaster({ dataDir, token });
    masters.push(master);
    let client = api(master.url, token);
    const job = await client.createJob({ code, inputs: Array.from({ length: 12 }, (_, i) => i), maxAttempts: 1 });
    const v = await RawVolunteer.join(master.url, 2);
    v.send({ type: 'want', n: 8 });
    await waitFor('8 leases', () => v.of('tasks').flatMap((f) => f.items).length === 8);
    const leased = v.of('tasks').flatMap((f) => f.items);
    const follower = client.raw(`/api/jobs/${job.id}/results?follow=true`, { headers: client.headers }).then((r) => r.text());

    // Three outcomes sent just before the signal: accepted, so they must be durable after the drain,
    // acknowledged or not.
    v.send({ type: 'results', items: leased.slice(0, 3).map((t) => ({ a: t.a, ok: true, output: (t.input as number) + 100 })) });
    await waitFor('outcomes accepted', async () => (await client.job(job.id)).counts.done === 3);
    const started = Date.now();
    const exit = master.kill('SIGTERM');
    expect(await v.closedWith(10_000)).toEqual({ code: CloseCode.ShuttingDown, reason: CloseReason.ShuttingDown });
    expect(await exit, `exit code (output: ${master.output()})`).toBe(0);
    const drainMs = Date.now() - started;
    expect(drainMs).toBeLessThan(10_000);
    expect(v.of('tasks').flatMap((f) => f.items), 'nothing more was leased after the signal').toHaveLength(8);
    expect(await follower, 'the follower\'s stream ended with the drain').toContain('"index":');

    master = await startMaster({ dataDir, token, port: master.port });
    masters.push(master);
    client = api(master.url, token);
    const resumed = await client.job(job.id);
    expect(resumed.counts).toMatchObject({ done: 3, leased: 0, queued: 9, failed: 0 });

    // The 5 handed-back leases were not counted as failed attempts: with maxAttempts 1 they would have failed.
    const w = await RawVolunteer.join(master.url, 2);
    w.send({ type: 'want', n: 8 });
    for (let handled = 0; handled < 9; ) {
      await waitFor('more tasks', () => w.of('tasks').flatMap((f) => f.items).length > handled);
      const items = w.of('tasks').flatMap((f) => f.items).slice(handled);
      w.send({ type: 'results', items: items.map((t) => ({ a: t.a, ok: true, output: (t.input as number) + 100 })), want: items.length });
      handled += items.length;
    }
    await waitFor('job completed', async () => (await client.job(job.id)).status === 'completed');
    const lines = await client.results(job.id);
    expect(expectExactlyOnce(lines, 12, (i) => i + 100)).toEqual([]);
    w.close();
    console.log(`[S11] SIGTERM to exit: ${drainMs} ms`);
  });
});
