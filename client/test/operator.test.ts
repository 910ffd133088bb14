/**
 * The operator's calls of @barnraise/client against a real master process: identities (pages, one, ban,
 * reinstate, vouch), job and task detail, the site, and a submit of a body already encoded as JSON.
 * Identities are made by raw volunteers that prove a key at hello, as the page and the worker do.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@barnraise/shared';
import { ephemeralIdentity } from '../../server/src/worker/identity.ts';
import { RawVolunteer, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from '../../server/test/helpers.ts';
import { Barnraise, ConnectionError, IdentityNotFoundError, JobNotFoundError, type IdentityRow } from '../src/index.ts';
import { CutProxy } from './proxy.ts';

const token = 'client-operator-token';
const dataDir = tempDir();
let master: MasterProc;
let worker: Proc;
let br: Barnraise;
const sockets: RawVolunteer[] = [];

beforeAll(async () => {
  master = await startMaster({ dataDir, token });
  worker = startWorker(master.url, 1);
  br = new Barnraise({ url: master.url, token });
  await waitFor('the worker online', async () => (await br.stats()).volunteers === 1);
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await worker?.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A volunteer that proves a fresh identity at hello; resolves with the socket and the identity's id. */
async function volunteerWithIdentity(): Promise<{ socket: RawVolunteer; id: string }> {
  const me = await ephemeralIdentity();
  const socket = await RawVolunteer.connect(master.url);
  sockets.push(socket);
  const { nonce } = await socket.next('challenge');
  socket.send({ type: 'hello', v: PROTOCOL_VERSION, threads: 1, agent: 'node', identity: { key: me.key, sig: await me.sign(nonce) } });
  const welcome = await socket.next('welcome');
  return { socket, id: welcome.identity! };
}

describe('@barnraise/client: the operator calls, against a real master', () => {
  it('[V5] lists identities by page and all of them; reads, bans, reinstates and vouches for one', async () => {
    const made = await Promise.all([volunteerWithIdentity(), volunteerWithIdentity(), volunteerWithIdentity()]);
    const ids = made.map((m) => m.id).sort();
    expect(new Set(ids).size).toBe(3);
    // Identities are written by the master's batched writer: wait until all three are listed.
    await waitFor('three identities listed', async () => (await br.listIdentities()).total === 3);

    const first = await br.listIdentities({ offset: 0, limit: 2 });
    const second = await br.listIdentities({ offset: 2, limit: 2 });
    expect({ total: first.total, offset: first.offset, rows: first.rows.length }).toEqual({ total: 3, offset: 0, rows: 2 });
    expect({ offset: second.offset, rows: second.rows.length }).toEqual({ offset: 2, rows: 1 });
    expect([...first.rows, ...second.rows].map((r) => r.id).sort()).toEqual(ids);

    const all: IdentityRow[] = [];
    for await (const row of br.identities({ pageSize: 2 })) all.push(row);
    expect(all.map((r) => r.id).sort(), 'every page, each identity once').toEqual(ids);

    const target = made[0]!;
    expect(await br.getIdentity(target.id)).toMatchObject({ id: target.id, trust: 'untrusted', vouched: false, bannedAt: null, connections: 1 });

    const banned = await br.banIdentity(target.id, { reason: 'wrong answers' });
    expect(banned).toMatchObject({ id: target.id, banReason: expect.stringContaining('wrong answers') });
    expect(banned.bannedAt).not.toBeNull();
    await target.socket.closedWith();
    expect((await br.getIdentity(target.id)).bannedAt).not.toBeNull();

    const reinstated = await br.reinstateIdentity(target.id);
    expect(reinstated).toMatchObject({ id: target.id, trust: 'untrusted', vouched: false, bannedAt: null, banReason: null });

    const vouched = await br.vouchForIdentity(made[1]!.id);
    expect(vouched).toMatchObject({ id: made[1]!.id, vouched: true });
    expect((await br.getIdentity(made[1]!.id)).vouched).toBe(true);

    const unreasoned = await br.banIdentity(made[2]!.id);
    expect(unreasoned.banReason, 'the master\'s default reason').toContain('banned by the operator');

    await expect(br.getIdentity('no-such-identity')).rejects.toBeInstanceOf(IdentityNotFoundError);
    await expect(br.banIdentity('no-such-identity')).rejects.toMatchObject({ code: 'IDENTITY_NOT_FOUND', status: 404 });
  });

  it('submitJson sends the encoded body as it is; the job, its detail and its tasks are read back', async () => {
    const sent: Array<{ body: unknown; key: string | null }> = [];
    const watching = new Barnraise({
      url: master.url,
      token,
      fetch: (input, init) => {
        if (init?.method === 'POST') sent.push({ body: init.body, key: new Headers(init.headers).get('idempotency-key') });
        return fetch(input, init);
      },
    });
    const json = JSON.stringify({ name: 'encoded', code: 'export default (n) => { if (n === 2) throw new Error("two"); return n * 10; }', inputs: [0, 1, 2, 3], maxAttempts: 1 });
    const job = await watching.submitJson(json);
    expect(sent).toEqual([{ body: json, key: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
    expect(job.summary).toMatchObject({ name: 'encoded', total: 4 });
    expect((await job.wait()).counts).toMatchObject({ done: 3, failed: 1 });

    const detail = await br.getJobDetail(job.id);
    expect(detail.summary).toMatchObject({ id: job.id, name: 'encoded', total: 4 });
    expect(detail.code).toContain('throw new Error("two")');
    expect(detail.errors).toEqual([expect.objectContaining({ index: 2, status: 'failed' })]);
    const task = await br.getTask(job.id, 3);
    expect(task).toMatchObject({ index: 3, state: 'done', input: 3, output: 30 });
    expect(task.attempts).toHaveLength(1);
    await expect(br.getJobDetail('j_nosuchjob')).rejects.toBeInstanceOf(JobNotFoundError);

    sent.length = 0;
    const keyless = await watching.submitJson(JSON.stringify({ code: 'export default (n) => n', inputs: [5] }), { idempotencyKey: null });
    expect(sent.map((s) => s.key), 'no Idempotency-Key').toEqual([null]);
    expect((await keyless.wait()).counts.done).toBe(1);

    const site = await br.getSite();
    expect(typeof site.title).toBe('string');
  });

  it('[S5] a submit without an Idempotency-Key whose reply is lost is not sent again (it may have made the job)', async () => {
    const proxy = await CutProxy.start(master.port);
    try {
      let cut = false;
      proxy.cutWhen = (conn) => {
        if (cut || !conn.request.startsWith('POST /api/jobs')) return false;
        return (cut = true);
      };
      const viaProxy = new Barnraise({ url: proxy.url, token });
      const before = (await br.listJobs({ limit: 200 })).jobs.length;
      await expect(viaProxy.submit({ code: 'export default (n) => n', inputs: [1] }, { idempotencyKey: null })).rejects.toBeInstanceOf(ConnectionError);
      expect(cut).toBe(true);
      expect(proxy.requests.filter((r) => r === 'POST /api/jobs'), 'sent once').toHaveLength(1);
      // The master got the body whole before the reply was cut: it made the job, once.
      await waitFor('the job made once', async () => (await br.listJobs({ limit: 200 })).jobs.length === before + 1);
    } finally {
      await proxy.close();
    }
  });
});
