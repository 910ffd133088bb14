/**
 * Volunteer identities on a real master over real sockets (SPEC.md V1-V3, V5): the challenge and the proof at
 * hello, the new-identity limit per network, the operator's vouch, bans and the REST identity routes, and the
 * headless worker's identity file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION, type IdentityRow, type MasterMessage } from '@barnraise/shared';
import { identityIdOf, vouchFor } from '../src/validation/identity.ts';
import { ephemeralIdentity, fileIdentity } from '../src/worker/identity.ts';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, startMaster, startWorker, tempDir, waitFor } from './helpers.ts';

const masters: TestMaster[] = [];
const sockets: RawVolunteer[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  for (const m of masters.splice(0)) await m.close();
});

async function master(overrides: Parameters<typeof startTestMaster>[0] = {}): Promise<TestMaster> {
  const m = await startTestMaster(overrides);
  masters.push(m);
  return m;
}

/** Connect, read the challenge, and say hello with `proof(nonce)` (or anonymously). */
async function hello(url: string, proof?: (nonce: string) => Promise<Record<string, unknown>>): Promise<RawVolunteer> {
  const v = await RawVolunteer.connect(url);
  sockets.push(v);
  const { nonce } = await v.next('challenge');
  v.send({ type: 'hello', v: PROTOCOL_VERSION, threads: 1, agent: 'node', ...(proof ? { identity: await proof(nonce) } : {}) });
  return v;
}

const outcome = (v: RawVolunteer) =>
  waitFor('a welcome or a close', () => (v.of('welcome')[0] as MasterMessage | undefined) ?? (v.closed ? { closed: v.closed } : undefined), 5000, 10);

async function identityOf(m: TestMaster, id: string): Promise<IdentityRow> {
  const res = await m.api.raw(`/api/identities/${id}`, { headers: m.api.headers });
  expect(res.status).toBe(200);
  return (await res.json()) as IdentityRow;
}

describe('volunteer identities (SPEC.md V1-V3, V5)', () => {
  it('[V1] the master challenges every socket; a signed nonce proves an identity, stable over connections and stored', async () => {
    const m = await master();
    const me = await ephemeralIdentity();
    const proof = async (nonce: string) => ({ key: me.key, sig: await me.sign(nonce) });
    const first = await hello(m.url, proof);
    const welcome = await first.next('welcome');
    expect(first.received[0]!.type).toBe('challenge');
    expect(welcome.identity).toBe(identityIdOf(me.key));
    const second = await hello(m.url, proof);
    expect((await second.next('welcome')).identity).toBe(welcome.identity);
    // Two sockets, two nonces: a proof is bound to its connection.
    expect(first.of('challenge')[0]!.nonce).not.toBe(second.of('challenge')[0]!.nonce);
    await m.app.scheduler.writer.flush();
    expect(await identityOf(m, welcome.identity!)).toMatchObject({ trust: 'untrusted', connections: 2, checksPassed: 0 });
    const anonymous = await hello(m.url);
    expect((await anonymous.next('welcome')).identity).toBeUndefined();
  });

  it('[V1] a proof for another nonce (a replay), another key, or no key at all is closed with 4033', async () => {
    const m = await master();
    const me = await ephemeralIdentity();
    const other = await ephemeralIdentity();
    const replay = await hello(m.url, async () => ({ key: me.key, sig: await me.sign('an-old-nonce-from-another-socket') }));
    expect(await outcome(replay)).toEqual({ closed: { code: CloseCode.BadIdentity, reason: 'identity proof does not verify' } });
    const stolen = await hello(m.url, async (nonce) => ({ key: me.key, sig: await other.sign(nonce) }));
    expect(await outcome(stolen)).toMatchObject({ closed: { code: CloseCode.BadIdentity } });
    const junk = await hello(m.url, async () => ({ key: 'bm90IGEga2V5', sig: 'AAAA' }));
    expect(await outcome(junk)).toMatchObject({ closed: { code: CloseCode.BadIdentity } });
  });

  it('[V2] a network makes only so many new identities; known ones still come in, and the operator\'s vouched ones are not counted', async () => {
    const m = await master({ newIdentitiesBurst: 2, newIdentitiesPerHour: 1, vouchKey: 'the-vouch-key' });
    const ids = await Promise.all([ephemeralIdentity(), ephemeralIdentity(), ephemeralIdentity()]);
    const proofOf = (id: (typeof ids)[0]) => async (nonce: string) => ({ key: id.key, sig: await id.sign(nonce) });
    expect(await outcome(await hello(m.url, proofOf(ids[0]!)))).toMatchObject({ type: 'welcome' });
    expect(await outcome(await hello(m.url, proofOf(ids[1]!)))).toMatchObject({ type: 'welcome' });
    const third = await hello(m.url, proofOf(ids[2]!));
    expect(await outcome(third)).toEqual({ closed: { code: CloseCode.TooManyIdentities, reason: 'too many new identities from this network; retry later' } });
    expect(await outcome(await hello(m.url, proofOf(ids[0]!)))).toMatchObject({ type: 'welcome' });
    const lab = await ephemeralIdentity('the-vouch-key');
    const vouched = await hello(m.url, async (nonce) => ({ key: lab.key, sig: await lab.sign(nonce), vouch: await lab.vouch!(nonce) }));
    expect(await outcome(vouched)).toMatchObject({ type: 'welcome' });
  });

  it('[V3] the operator\'s vouch key makes an identity trusted from the start; a wrong vouch is ignored', async () => {
    const m = await master({ vouchKey: 'the-vouch-key' });
    const lab = await ephemeralIdentity();
    const good = await hello(m.url, async (nonce) => ({ key: lab.key, sig: await lab.sign(nonce), vouch: vouchFor('the-vouch-key', nonce, lab.key) }));
    const id = (await good.next('welcome')).identity!;
    expect(await identityOf(m, id)).toMatchObject({ trust: 'vouched', vouched: true });
    const stranger = await ephemeralIdentity();
    const forged = await hello(m.url, async (nonce) => ({ key: stranger.key, sig: await stranger.sign(nonce), vouch: vouchFor('a-guess', nonce, stranger.key) }));
    expect(await identityOf(m, (await forged.next('welcome')).identity!)).toMatchObject({ trust: 'untrusted', vouched: false });
  });

  it('[V5] a ban closes the identity\'s sockets with 4032 and refuses it at hello; reinstated, it comes back untrusted', async () => {
    const m = await master();
    const me = await ephemeralIdentity();
    const proof = async (nonce: string) => ({ key: me.key, sig: await me.sign(nonce) });
    const v = await hello(m.url, proof);
    const id = (await v.next('welcome')).identity!;
    const ban = await m.api.raw(`/api/identities/${id}/ban`, { method: 'POST', headers: m.api.headers, body: JSON.stringify({ reason: 'test' }) });
    expect(await ban.json()).toMatchObject({ trust: 'banned', banReason: 'operator: test', connections: 0 });
    expect(await v.closedWith()).toEqual({ code: CloseCode.Banned, reason: 'identity banned for wrong results' });
    expect(await outcome(await hello(m.url, proof))).toMatchObject({ closed: { code: CloseCode.Banned } });
    const events = (await (await m.api.raw('/api/events', { headers: m.api.headers })).json()) as { events: Array<{ kind: string; text: string }> };
    expect(events.events.find((e) => e.kind === 'identity-banned')?.text).toContain(`identity ${id} banned: operator: test`);
    await m.api.raw(`/api/identities/${id}/reinstate`, { method: 'POST', headers: m.api.headers });
    expect(await outcome(await hello(m.url, proof))).toMatchObject({ type: 'welcome', identity: id });
    const list = (await (await m.api.raw('/api/identities?limit=10', { headers: m.api.headers })).json()) as { total: number; rows: IdentityRow[] };
    expect(list.total).toBe(1);
    expect(list.rows[0]).toMatchObject({ id, trust: 'untrusted' });
    expect((await m.api.raw('/api/identities/i_nobody', { headers: m.api.headers })).status).toBe(404);
  });

  it('[V1] the headless worker keeps its identity in a file only its owner reads, the same after a restart; banned, it exits with code 2', async () => {
    const dataDir = tempDir();
    const token = 'identity-worker-token';
    const m = await startMaster({ dataDir, token });
    const dir = tempDir();
    const file = path.join(dir, 'nested', 'identity.json');
    try {
      const worker = startWorker(m.url, 1, ['--identity', file]);
      const id = identityIdOf((await fileIdentity(await waitFor('identity file', () => fs.existsSync(file) && file))).key);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      await waitFor('worker online', async () => ((await (await fetch(`${m.url}/api/identities/${id}`, { headers })).json()) as IdentityRow).connections === 1);
      await worker.kill('SIGTERM');
      const again = startWorker(m.url, 1, ['--identity', file]);
      await waitFor('the same identity back', async () => ((await (await fetch(`${m.url}/api/identities/${id}`, { headers })).json()) as IdentityRow).connections === 1);
      await fetch(`${m.url}/api/identities/${id}/ban`, { method: 'POST', headers, body: '{}' });
      expect(await again.exited).toBe(2);
      expect(again.output()).toContain('4032');
    } finally {
      await m.kill();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
