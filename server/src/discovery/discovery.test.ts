import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '@barnraise/shared';
import { instanceName, shouldAdvertise } from './advertise.ts';
import type { DiscoveredMaster } from './browse.ts';
import { chooseMaster } from './choose.ts';
import { isAdvertTxt, mdnsSettingsFrom, mdnsSocketOptions } from './service.ts';

const master = (name: string, more: Partial<DiscoveredMaster> = {}): DiscoveredMaster => ({
  name,
  title: name,
  url: `http://192.0.2.7:8080/`,
  joinKeyRequired: false,
  protocol: PROTOCOL_VERSION,
  ...more,
});
const opts = { hasJoinKey: false, waitedMs: 3000 };

describe('[N2] which discovered master a worker joins', () => {
  it('[N2] the only one', () => {
    expect(chooseMaster([master('a')], opts)).toEqual({ ok: true, master: master('a') });
  });

  it('[N2] none: exit 1, saying where to look (advertising, the firewall, --url)', () => {
    const choice = chooseMaster([], opts);
    expect(choice).toMatchObject({ ok: false, exitCode: 1 });
    expect(!choice.ok && choice.message).toMatch(/within 3 s.*UDP port 5353.*--url/s);
  });

  it('[N2] several: exit 2 with the list, never a guess', () => {
    const choice = chooseMaster([master('a'), master('b', { joinKeyRequired: true, url: 'http://192.0.2.8:9000/' })], opts);
    expect(choice).toMatchObject({ ok: false, exitCode: 2 });
    expect(!choice.ok && choice.message.split('\n')).toEqual([
      '2 masters answered on the local network; choose one with --pick NAME or --url URL:',
      '  a  http://192.0.2.7:8080/  (open)',
      '  b  http://192.0.2.8:9000/  (join key needed)',
    ]);
  });

  it('[N2] --pick chooses by name (any case) or URL; a name nobody has is exit 2 with the list', () => {
    const found = [master('Lab on box:8080'), master('Home on box:9000', { url: 'http://192.0.2.9:9000/' })];
    expect(chooseMaster(found, { ...opts, pick: 'lab ON box:8080' })).toMatchObject({ ok: true, master: { name: 'Lab on box:8080' } });
    expect(chooseMaster(found, { ...opts, pick: 'http://192.0.2.9:9000/' })).toMatchObject({ ok: true, master: { name: 'Home on box:9000' } });
    expect(chooseMaster(found, { ...opts, pick: 'Office' })).toMatchObject({ ok: false, exitCode: 2, message: expect.stringContaining('no master found is named "Office"') });
  });

  it('[N2] a private swarm needs --join-key; another protocol version is refused before connecting', () => {
    expect(chooseMaster([master('p', { joinKeyRequired: true })], opts)).toMatchObject({ ok: false, exitCode: 2, message: expect.stringContaining('needs its join key') });
    expect(chooseMaster([master('p', { joinKeyRequired: true })], { ...opts, hasJoinKey: true })).toMatchObject({ ok: true });
    expect(chooseMaster([master('old', { protocol: PROTOCOL_VERSION - 1 })], opts)).toMatchObject({ ok: false, exitCode: 2, message: expect.stringContaining(`speaks volunteer protocol ${PROTOCOL_VERSION - 1}`) });
  });
});

describe('[N1] what a master advertises', () => {
  it('[N1] on unless told otherwise, except bound to loopback where nobody else could connect', () => {
    expect(shouldAdvertise(undefined, '0.0.0.0')).toBe(true);
    expect(shouldAdvertise(undefined, '192.0.2.2')).toBe(true);
    expect(shouldAdvertise(undefined, '127.0.0.1')).toBe(false);
    expect(shouldAdvertise(undefined, '::1')).toBe(false);
    expect(shouldAdvertise(undefined, 'localhost')).toBe(false);
    expect(shouldAdvertise(true, '127.0.0.1')).toBe(true);
    expect(shouldAdvertise(false, '0.0.0.0')).toBe(false);
  });

  it('[N1] an instance name of at most 63 bytes, keeping host and port', () => {
    expect(instanceName('Lab', 8080, 'box.example.org')).toBe('Lab on box:8080');
    const long = instanceName('Ünïcode '.repeat(20), 8080, 'box');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long.endsWith(' on box:8080')).toBe(true);
    expect(instanceName('a.b', 1, 'h')).toBe('a b on h:1');
  });

  it('[N1] the TXT record is checked before it is believed', () => {
    expect(isAdvertTxt({ txtvers: '1', proto: '2', title: 't', key: 'none', path: '/' })).toBe(true);
    expect(isAdvertTxt({ txtvers: '1', proto: '2', title: 't', key: 'maybe', path: '/' })).toBe(false);
    expect(isAdvertTxt({ txtvers: '1', title: 't', key: 'none', path: '/' })).toBe(false);
  });

  it('[N1] one interface binds the wildcard address (Linux delivers no group traffic to a socket bound to 127.0.0.1)', () => {
    expect(mdnsSettingsFrom({})).toEqual({ interface: undefined, port: 5353 });
    expect(mdnsSocketOptions(mdnsSettingsFrom({ BARNRAISE_MDNS_INTERFACE: '127.0.0.1', BARNRAISE_MDNS_PORT: '45353' }))).toEqual({ port: 45353, interface: '127.0.0.1', bind: '0.0.0.0' });
    expect(mdnsSettingsFrom({ BARNRAISE_MDNS_INTERFACE: 'lo' }).interface).toBe('127.0.0.1');
    expect(() => mdnsSettingsFrom({ BARNRAISE_MDNS_INTERFACE: 'no-such-interface0' })).toThrow(/IPv4 address or the name of an interface/);
    expect(() => mdnsSettingsFrom({ BARNRAISE_MDNS_PORT: '70000' })).toThrow(/port number/);
  });
});
