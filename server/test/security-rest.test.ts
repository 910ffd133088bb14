/**
 * REST under bad input and load (docs/THREAT-MODEL.md S8, S9): rate limits, body limits, job size
 * limits, and a seeded fuzz of every operator route: every bad input is a 4xx with a message, never a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Limits, type JobSummary } from '@barnraise/shared';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { prng } from './helpers.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster({ bodyLimitBytes: 8 * 1024 * 1024 });
});
afterAll(async () => m.close());

const code = 'export default (n) => n';
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

async function send(path: string, init: RequestInit): Promise<{ status: number; body: { code?: string; message?: string } | null }> {
  const res = await m.api.raw(path, init);
  const text = await res.text();
  let body: { code?: string; message?: string } | null = null;
  try {
    body = JSON.parse(text) as { code?: string; message?: string };
  } catch {
    // NDJSON or empty: only for 2xx
  }
  return { status: res.status, body };
}

describe('[S9] limits on job size, with a clear error', () => {
  const post = (body: string, headers: Record<string, string> = m.api.headers) => send('/api/jobs', { method: 'POST', headers, body });

  it('a body over the limit is 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await post(JSON.stringify({ code, inputs: ['x'.repeat(9 * 1024 * 1024)] }));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
  });

  it('routes other than job creation take small bodies only', async () => {
    const job = await m.api.createJob({ code, inputs: [1] });
    const res = await send(`/api/jobs/${job.id}/cancel`, { method: 'POST', headers: m.api.headers, body: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }) });
    expect(res.status).toBe(413);
    await m.api.cancel(job.id);
  });

  it('one input over maxInputBytes is 400 BAD_INPUT naming the input', async () => {
    const res = await post(JSON.stringify({ code, inputs: [1, 'y'.repeat(Limits.maxInputBytes + 10)] }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/inputs\[1\] is \d+ bytes as JSON; the limit is 1048576/) });
  });

  it('an input nested too deeply to store is 400, not a 500 from the store', async () => {
    const res = await post(`{"code":${JSON.stringify(code)},"inputs":[1,${nested(20_000)}]}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('nested too deeply') });
  });

  it('an input nested deeper than the limit is 400 even where this thread could encode it (the store thread cannot)', async () => {
    // 4,000 deep: JSON.stringify manages it on the event loop but overflows on the store's thread.
    const res = await post(`{"code":${JSON.stringify(code)},"inputs":[1,${nested(4000)}]}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_INPUT', message: 'inputs[1] cannot be stored: it is nested more than 2048 deep' });
    const ok = await post(`{"code":${JSON.stringify(code)},"inputs":[1,${nested(2048)}]}`);
    expect(ok.status).toBe(201);
  });

  it('code over maxCodeBytes, or nested too deeply to parse, is 400', async () => {
    expect((await post(JSON.stringify({ code: `export default 1;//${'x'.repeat(Limits.maxCodeBytes)}`, inputs: [1] }))).status).toBe(400);
    const deep = await post(JSON.stringify({ code: `export default ${'('.repeat(50_000)}1${')'.repeat(50_000)}`, inputs: [1] }));
    expect(deep.status).toBe(400);
    expect(deep.body?.message).toEqual(expect.any(String));
  });

  it('more inputs than maxInputs is 400', async () => {
    // Sparse JSON would not be smaller; 2,000,001 zeros is ~4 MB, under this master's body limit.
    const res = await post(`{"code":${JSON.stringify(code)},"inputs":[${new Array(Limits.maxInputs + 1).fill(0).join(',')}]}`);
    expect(res.status).toBe(400);
    expect(res.body?.message).toMatch(/inputs/);
  });

  it('a non-JSON content type is 415, an unknown route 404, both with a message', async () => {
    const res = await post(JSON.stringify({ code, inputs: [1] }), { authorization: m.api.headers.authorization, 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) });
    const missing = await send('/api/nope', { headers: m.api.headers });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('[S8] rate limits per address', () => {
  let limited: TestMaster;
  beforeAll(async () => {
    limited = await startTestMaster({ rateLimitPerMinute: 20, operatorRateLimitPerMinute: 40 });
  });
  afterAll(async () => limited.close());

  it('an address over its limit gets 429 RATE_LIMITED with Retry-After; operator requests count apart', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let k = 0; k < 30; k++) {
      last = await limited.api.raw('/api/stats');
      statuses.push(last.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    expect(last!.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await last!.json()).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('retry') });
    // Wrong tokens are public traffic: they are limited too (no unlimited guessing).
    expect((await limited.api.raw('/api/jobs', { headers: { authorization: 'Bearer guess' } })).status).toBe(429);
    // The operator, from the same address, is not locked out by the public traffic.
    const op = await limited.api.raw('/api/jobs', { headers: limited.api.headers });
    expect(op.status).toBe(200);
    let opStatus = 200;
    for (let k = 0; k < 45 && opStatus === 200; k++) opStatus = (await limited.api.raw('/api/jobs', { headers: limited.api.headers })).status;
    expect(opStatus, 'the operator has a ceiling too').toBe(429);
  });
});

describe('[S8] behind a reverse proxy', () => {
  it('with BARNRAISE_TRUST_PROXY each forwarded client has its own budget; without it, X-Forwarded-For is ignored', async () => {
    const proxied = await startTestMaster({ rateLimitPerMinute: 5, trustProxy: '127.0.0.1' });
    const direct = await startTestMaster({ rateLimitPerMinute: 5 });
    try {
      const get = (t: TestMaster, client: string) => t.api.raw('/api/stats', { headers: { 'x-forwarded-for': client } }).then((r) => r.status);
      const first: number[] = [];
      for (let k = 0; k < 7; k++) first.push(await get(proxied, '203.0.113.7'));
      expect(first).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(await get(proxied, '198.51.100.9'), 'another client behind the proxy').toBe(200);
      const spoofed: number[] = [];
      for (let k = 0; k < 7; k++) spoofed.push(await get(direct, `192.0.2.${k}`));
      expect(spoofed.slice(5), 'a forged X-Forwarded-For buys nothing when no proxy is trusted').toEqual([429, 429]);
    } finally {
      await proxied.close();
      await direct.close();
    }
  });
});

describe('[S9] REST fuzz: random and malformed requests to every operator route', () => {
  it('every answer is a 2xx or a 4xx with a message, never a 5xx; the master still works after', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const atoms: unknown[] = [null, true, false, 0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, '', 'x', '\u0000', '\ud800', 'é', '__proto__', [], {}];
    const keys = ['code', 'inputs', 'name', 'timeoutMs', 'maxAttempts', 'priority', '__proto__', 'constructor', 'extra', ''];
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.5) return pick(atoms);
      if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, () => [pick(keys), value(depth + 1)]));
    };
    const nearValid = () => {
      const body: Record<string, unknown> = { code: pick([code, 'export default (', 'export const x = 1', 42, null, code]), inputs: pick([[1, 2], [], 'abc', [value(0)], null, [1]]) };
      for (const k of ['name', 'timeoutMs', 'maxAttempts', 'priority'] as const) if (rand() < 0.4) body[k] = value(2);
      return JSON.stringify(body);
    };
    const bodies: Array<() => string> = [
      () => JSON.stringify(value(0)),
      nearValid,
      () => nearValid().slice(0, Math.floor(rand() * 40)),
      () => `{"code":${JSON.stringify(code)},"inputs":[${nested(1000 + Math.floor(rand() * 20_000))}]}`,
      () => nested(Math.floor(rand() * 100_000)),
      () => String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(rand() * 256))),
      () => '\ufeff{"code":"x","inputs":[1]}',
      () => '',
    ];
    const contentTypes = ['application/json', 'application/json', 'text/plain', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded'];
    const ids = ['j_nope', '..%2F..%2Fetc', '%00', 'x'.repeat(65), '%E2%82%AC', "'; DROP TABLE jobs; --", '-1', '1e400'];
    const queries = ['', '?limit=0', '?limit=-5', '?limit=1e9', '?limit=abc', '?limit=2&cursor=%00', `?cursor=${'z'.repeat(100)}`, '?follow=maybe', '?limit=1&limit=2'];

    const problems: string[] = [];
    const made: string[] = [];
    const started = Date.now();
    for (let n = 0; n < 400 && Date.now() - started < 30_000; n++) {
      const route = pick(['create', 'create', 'create', 'cancel', 'list', 'get', 'results']);
      const headers: Record<string, string> = { authorization: m.api.headers.authorization };
      let method = 'GET';
      let path = '';
      let body: string | undefined;
      if (route === 'create' || route === 'cancel') {
        method = 'POST';
        headers['content-type'] = pick(contentTypes);
        body = pick(bodies)();
        if (rand() < 0.2) headers['idempotency-key'] = pick(['k', 'k2', 'x'.repeat(300), 'a b', '']);
        path = route === 'create' ? '/api/jobs' : `/api/jobs/${pick(ids)}/cancel`;
      } else if (route === 'list') path = `/api/jobs${pick(queries)}`;
      else if (route === 'get') path = `/api/jobs/${pick(ids)}`;
      else path = `/api/jobs/${pick(ids)}/results${pick(queries)}`;
      const res = await send(path, { method, headers, body }).catch((err: Error) => ({ status: -1, body: { message: err.message } }));
      const what = `${method} ${path.slice(0, 60)} body ${JSON.stringify(body?.slice(0, 60))} (seed ${seed})`;
      if (res.status === -1) continue; // fetch refused to send it (e.g. a header value it will not encode)
      if (res.status >= 500) problems.push(`${res.status} for ${what}: ${res.body?.message}`);
      else if (res.status >= 400 && (typeof res.body?.message !== 'string' || res.body.message.length < 5)) problems.push(`${res.status} without a message for ${what}`);
      else if (res.status === 201) made.push((res.body as unknown as JobSummary).id);
    }
    expect(problems, `fuzz seed ${seed}`).toEqual([]);
    expect((await m.api.raw('/healthz')).status).toBe(200);
    const job = await m.api.createJob({ code, inputs: [1, 2, 3] });
    expect(job.total).toBe(3);
    for (const id of [...made, job.id]) await m.api.cancel(id).catch(() => undefined);
  });
});
