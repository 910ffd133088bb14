/**
 * A headless volunteer that stops or vanishes while its socket is still opening: `ws` reports that abort as an
 * 'error' event, and one with no listener is an uncaught exception that would bring the worker process down
 * (seen in the chaos test, whose victims are sometimes replacements still connecting).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HeadlessVolunteer } from '../src/worker/volunteer.ts';
import { waitFor } from './helpers.ts';

// A master that accepts TCP and never answers the upgrade: the volunteer's socket stays CONNECTING.
let silent: net.Server;
let accepted = 0;
const sockets: net.Socket[] = [];
const uncaught: Error[] = [];
const onUncaught = (err: Error) => uncaught.push(err);

beforeAll(async () => {
  silent = net.createServer((s) => {
    accepted++;
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  process.on('uncaughtException', onUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

for (const how of ['abandon', 'stop'] as const) {
  it(`[S12] ${how} while the socket is still opening raises nothing`, async () => {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const before = accepted;
    const v = new HeadlessVolunteer({ url, threads: 1, assetCacheDir: '/nonexistent-unused' });
    v.start();
    await waitFor('the volunteer opened its socket', async () => accepted > before, 20_000);
    await v[how]();
    // ws emits the aborted handshake's error on the next tick; give it several.
    await new Promise((r) => setTimeout(r, 200));
    expect(uncaught.map((e) => e.message)).toEqual([]);
  });
}
