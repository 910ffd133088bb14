/**
 * [N1][N2] Masters found on the local network: real masters advertising over multicast DNS on loopback (each
 * test file its own UDP port, see mdns.ts), real `barnraise worker` processes started with no --url.
 * Where multicast on loopback cannot work the tests say why and skip; under CI=true they fail instead.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bonjour, type Service } from 'bonjour-service';
import { PROTOCOL_VERSION } from '@barnraise/shared';
import { instanceName } from '../src/discovery/advertise.ts';
import { discoverMasters } from '../src/discovery/browse.ts';
import { mdnsSocketOptions, SERVICE_TYPE } from '../src/discovery/service.ts';
import { api, expectExactlyOnce, run, startMaster, tempDir, waitFor, type MasterProc, type Proc } from './helpers.ts';
import { LOOPBACK, loopbackMulticast, mdnsPort } from './mdns.ts';

const multicast = await loopbackMulticast();
const inCi = process.env.CI === 'true';
if (!multicast.ok) {
  if (inCi) throw new Error(`[N1][N2] the discovery tests need multicast DNS on loopback, and under CI=true they must run: ${multicast.why}`);
  console.warn(`[N1][N2] discovery tests skipped: ${multicast.why}`);
}

describe.runIf(multicast.ok)('[N1][N2] barnraise worker with no --url', () => {
  const PORT = mdnsPort();
  const neighbourhood = { BARNRAISE_MDNS_PORT: String(PORT) };
  /** What a worker needs to browse where the masters advertise. */
  const workerEnv = { ...neighbourhood, BARNRAISE_MDNS_INTERFACE: LOOPBACK.interface };
  const TOKEN = 'discovery-token';
  const JOIN_KEY = 'the-swarm-key-never-advertised';
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const started = <P extends Proc>(p: P) => (procs.push(p), p);
  const dir = () => (dirs.push(tempDir('barnraise-mdns-')), dirs.at(-1)!);
  /** A browser kept open through the file: it hears masters come, and go (goodbye). */
  const bonjour = new Bonjour(mdnsSocketOptions({ ...LOOPBACK, port: PORT }));
  const seen = new Map<string, Service>();
  const gone = new Set<string>();
  let first: MasterProc;

  beforeAll(async () => {
    const browser = bonjour.find({ type: SERVICE_TYPE });
    browser.on('up', (s) => seen.set(s.name, s));
    browser.on('down', (s) => gone.add(s.name));
    // Bound to 127.0.0.1, a master advertises only when told (BARNRAISE_MDNS=1), and then on loopback.
    first = started(await startMaster({ dataDir: dir(), token: TOKEN, env: { ...neighbourhood, BARNRAISE_MDNS: '1', BARNRAISE_JOIN_KEY: JOIN_KEY } }));
  });

  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await new Promise<void>((r) => bonjour.destroy(() => r()));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    if (multicast.ok) multicast.restore();
  });

  it('[N1] the advertisement names the master, its protocol and that a join key is needed, and never carries the key', async () => {
    const name = instanceName('Barnraise', first.port);
    const service = await waitFor(`the advertisement of ${name}`, () => seen.get(name), 10_000);
    expect(service.port).toBe(first.port);
    expect(service.txt).toEqual({ txtvers: '1', proto: String(PROTOCOL_VERSION), title: 'Barnraise', key: 'required', path: '/' });
    const everything = JSON.stringify(service) + Buffer.concat((service as unknown as { rawTxt: Buffer[] }).rawTxt ?? []).toString('latin1');
    expect(everything).not.toContain(JOIN_KEY);
    const found = await discoverMasters({ timeoutMs: 1500, mdns: { ...LOOPBACK, port: PORT } });
    expect(found).toEqual([{ name, title: 'Barnraise', url: `${first.url}/`, joinKeyRequired: true, protocol: PROTOCOL_VERSION }]);
  });

  it('[N2] without the join key a private master is named and the worker exits 2 without joining', async () => {
    const worker = started(run(['worker', '--threads', '1', '--no-identity', '--discover-timeout', '2s'], workerEnv));
    expect(await worker.exited).toBe(2);
    expect(worker.output()).toContain(`${instanceName('Barnraise', first.port)} (${first.url}/) is a private swarm: it needs its join key (--join-key KEY)`);
    const stats = (await (await fetch(`${first.url}/api/stats`)).json()) as { volunteers: number };
    expect(stats.volunteers).toBe(0);
  });

  it('[N2] the one master on the network is found, joined with the join key, and its job completes', async () => {
    const worker = started(run(['worker', '--threads', '2', '--no-identity', '--discover-timeout', '2s', '--join-key', JOIN_KEY], workerEnv));
    const client = api(first.url, TOKEN);
    const total = 60;
    const job = await client.createJob({ name: 'found', code: 'export default (n) => n * 3', inputs: Array.from({ length: total }, (_, i) => i) });
    const lines = await client.results(job.id, true);
    expect(expectExactlyOnce(lines, total, (i) => i * 3)).toEqual([]);
    expect(worker.output()).toContain(`found ${instanceName('Barnraise', first.port)} at ${first.url}/`);
    expect(await worker.kill('SIGTERM')).toBe(0);
  });

  it('[N2] two masters advertising: the worker lists both and exits 2; --pick joins the one named', async () => {
    const second = started(await startMaster({ dataDir: dir(), token: TOKEN, env: { ...neighbourhood, BARNRAISE_MDNS: '1', BARNRAISE_TITLE: 'Second swarm' } }));
    const secondName = instanceName('Second swarm', second.port);
    await waitFor(`the advertisement of ${secondName}`, () => seen.get(secondName), 10_000);

    const lister = started(run(['worker', '--threads', '1', '--no-identity', '--discover-timeout', '2s'], workerEnv));
    expect(await lister.exited).toBe(2);
    const out = lister.output();
    expect(out).toContain('2 masters answered on the local network; choose one with --pick NAME or --url URL');
    expect(out).toMatch(new RegExp(`${instanceName('Barnraise', first.port)}\\s+${first.url}/\\s+\\(join key needed\\)`));
    expect(out).toMatch(new RegExp(`${secondName}\\s+${second.url}/\\s+\\(open\\)`));
    for (const m of [first, second]) expect(((await (await fetch(`${m.url}/api/stats`)).json()) as { volunteers: number }).volunteers).toBe(0);

    const picker = started(run(['worker', '--threads', '1', '--no-identity', '--discover-timeout', '2s', '--pick', secondName.toUpperCase()], workerEnv));
    await waitFor('the picked master to have its volunteer', async () => ((await (await fetch(`${second.url}/api/stats`)).json()) as { volunteers: number }).volunteers === 1);
    expect(((await (await fetch(`${first.url}/api/stats`)).json()) as { volunteers: number }).volunteers).toBe(0);
    expect(await picker.kill('SIGTERM')).toBe(0);

    // [N1] A draining master says goodbye: the open browser forgets it now, not when its records' TTL (120 s) ends.
    expect(await second.kill('SIGTERM')).toBe(0);
    await waitFor(`the goodbye of ${secondName}`, () => gone.has(secondName), 3000);
    expect(gone.has(instanceName('Barnraise', first.port))).toBe(false);
  });

  it('[N1] a master bound to loopback is not advertised unless told to; with none found the worker exits 1 and says why', async () => {
    const quietPort = mdnsPort();
    const quiet = started(await startMaster({ dataDir: dir(), token: TOKEN, env: { BARNRAISE_MDNS_PORT: String(quietPort) } }));
    const worker = started(run(['worker', '--threads', '1', '--no-identity', '--discover-timeout', '2s'], { BARNRAISE_MDNS_PORT: String(quietPort), BARNRAISE_MDNS_INTERFACE: LOOPBACK.interface }));
    expect(await worker.exited).toBe(1);
    expect(worker.output()).toContain('no master answered on the local network within 2 s');
    expect(worker.output()).toContain('UDP port 5353');
    expect(((await (await fetch(`${quiet.url}/api/stats`)).json()) as { volunteers: number }).volunteers).toBe(0);
  });
});

describe('[N1][N2] multicast DNS that cannot listen', () => {
  it('[N1][N2] a taken mDNS port is logged by the master, which serves on and drains; a worker says so and exits 1', async () => {
    // A program holding the port without sharing it (no SO_REUSEADDR): every bind after it fails.
    const taken = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((r) => taken.bind(0, '0.0.0.0', () => r()));
    const port = String(taken.address().port);
    const dataDir = tempDir('barnraise-mdns-');
    try {
      const master = await startMaster({ dataDir, token: 't', env: { BARNRAISE_MDNS: '1', BARNRAISE_MDNS_PORT: port } });
      try {
        await waitFor('the warning', () => master.output().includes('multicast DNS (advertising this master on the local network) failed'), 5000);
        expect((await fetch(`${master.url}/healthz`)).ok).toBe(true);
        const worker = run(['worker', '--threads', '1', '--no-identity', '--discover-timeout', '1s'], { BARNRAISE_MDNS_PORT: port });
        expect(await worker.exited).toBe(1);
        expect(worker.output()).toContain(`cannot listen for masters on the local network (multicast DNS, UDP port ${port})`);
      } finally {
        expect(await master.kill('SIGTERM')).toBe(0);
      }
    } finally {
      taken.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
