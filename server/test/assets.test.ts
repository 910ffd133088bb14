/**
 * Assets over REST (SPEC.md section A) against a real master on a real port: upload by hash, the checks on
 * the way in (hash, size, disk), public immutable reads, jobs that name assets, and the `job` frame.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetStored, JobDetail, JobSummary } from '@barnraise/shared';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer } from './helpers.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster({ assetMaxBytes: 8 * 1024 * 1024 });
});
afterAll(async () => m.close());

function put(t: TestMaster, hash: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  return fetch(`${t.url}/api/assets/${hash}`, { method: 'PUT', headers: { authorization: `Bearer ${t.token}`, ...headers }, body: body as BodyInit });
}

/** Files under the asset directory, the uploads in progress included. */
function filesOf(t: TestMaster): string[] {
  const dir = t.app.assets.dir;
  return [...fs.readdirSync(dir).filter((f) => !f.startsWith('.')), ...fs.readdirSync(path.join(dir, '.incoming')).map((f) => `.incoming/${f}`)].sort();
}

async function metric(t: TestMaster, name: string): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.token}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('[A1] storing an asset', () => {
  it('[A1][A3] PUT keeps bytes whose SHA-256 is the URL\'s (201, then 200 for the same again); GET serves them immutable with the hash as ETag, HEAD the same without bytes, If-None-Match 304', async () => {
    // Larger than the 64 KiB JSON body limit of other routes: an asset streams to disk.
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const hash = sha(bytes);
    const first = await put(m, hash, bytes, { 'content-type': 'application/octet-stream' });
    expect(first.status).toBe(201);
    expect((await first.json()) as AssetStored).toEqual({ sha256: hash, size: bytes.length, created: true });
    const again = await put(m, hash, bytes);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ sha256: hash, size: bytes.length, created: false });
    expect(fs.readFileSync(path.join(m.app.assets.dir, hash)).equals(bytes)).toBe(true);

    const sentBefore = await metric(m, 'barnraise_asset_bytes_sent_total');
    const got = await fetch(`${m.url}/api/assets/${hash}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(`"${hash}"`);
    expect(got.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    const head = await fetch(`${m.url}/api/assets/${hash}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(head.headers.get('etag')).toBe(`"${hash}"`);
    const cached = await fetch(`${m.url}/api/assets/${hash}`, { headers: { 'if-none-match': `"${hash}"` } });
    expect(cached.status).toBe(304);
    expect((await cached.arrayBuffer()).byteLength).toBe(0);
    expect(await metric(m, 'barnraise_asset_bytes_sent_total'), 'only the full GET counts').toBe(sentBefore + bytes.length);
  });

  it('[A1] bytes whose SHA-256 is not the URL\'s are 422 ASSET_HASH_MISMATCH, and nothing is kept', async () => {
    const before = filesOf(m);
    const res = await put(m, sha('the bytes meant'), 'other bytes');
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'ASSET_HASH_MISMATCH', message: expect.stringContaining(`is ${sha('other bytes')}, not the ${sha('the bytes meant')}`) as string });
    expect(filesOf(m)).toEqual(before);
    expect((await fetch(`${m.url}/api/assets/${sha('the bytes meant')}`)).status).toBe(404);
  });

  it('[A1] an asset over BARNRAISE_ASSET_MAX_BYTES is 413: by its Content-Length before it is read, or as soon as a chunked body grows past it', async () => {
    const big = randomBytes(8 * 1024 * 1024 + 1);
    const declared = await put(m, sha(big), big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('the limit is 8388608') as string });

    // No Content-Length: the store counts as the bytes come and stops the upload past the limit.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${m.url}/api/assets/${sha(big)}`, { method: 'PUT', headers: { authorization: `Bearer ${m.token}`, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < big.length) {
          const chunk = big.subarray(sent, sent + 256 * 1024);
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(filesOf(m).filter((f) => f.includes(sha(big)))).toEqual([]);
  });

  it('[A1] concurrent PUTs of the same bytes all succeed and leave one file: one 201, the rest 200', async () => {
    const bytes = randomBytes(512 * 1024);
    const hash = sha(bytes);
    const replies = await Promise.all(Array.from({ length: 6 }, () => put(m, hash, bytes)));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(filesOf(m).filter((f) => f.includes(hash))).toEqual([hash]);
    expect(fs.readFileSync(path.join(m.app.assets.dir, hash)).equals(bytes)).toBe(true);
  });

  it('[A1] an upload cut off midway leaves nothing, not even its temporary file', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const hash = sha(bytes);
    await new Promise<void>((resolve) => {
      const req = http.request(`${m.url}/api/assets/${hash}`, { method: 'PUT', headers: { authorization: `Bearer ${m.token}`, 'content-length': String(bytes.length) } });
      req.on('error', () => resolve());
      req.write(bytes.subarray(0, 512 * 1024), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    await expect.poll(() => filesOf(m).filter((f) => f.includes(hash)), { timeout: 5000 }).toEqual([]);
    expect((await fetch(`${m.url}/api/assets/${hash}`, { method: 'HEAD' })).status).toBe(404);
  });

  it('[A1][K8] past BARNRAISE_ASSET_MAX_TOTAL_BYTES an upload is 507 STORE_FULL and nothing is kept', async () => {
    const small = await startTestMaster({ assetMaxTotalBytes: 100_000 });
    try {
      const a = randomBytes(60_000);
      expect((await put(small, sha(a), a)).status).toBe(201);
      const b = randomBytes(60_000);
      const res = await put(small, sha(b), b);
      expect(res.status).toBe(507);
      expect(await res.json()).toMatchObject({ code: 'STORE_FULL', message: expect.stringContaining('BARNRAISE_ASSET_MAX_TOTAL_BYTES') as string });
      expect(filesOf(small)).toEqual([sha(a)]);
    } finally {
      await small.close();
    }
  });

  it('[S1][A3] PUT needs the operator token (checked before the body is read); GET and HEAD need none; a malformed hash is 400', async () => {
    const hash = sha('token check');
    expect((await fetch(`${m.url}/api/assets/${hash}`, { method: 'PUT', body: 'token check' })).status).toBe(401);
    expect((await fetch(`${m.url}/api/assets/${hash}`, { method: 'PUT', headers: { authorization: 'Bearer wrong' }, body: 'token check' })).status).toBe(401);
    expect((await fetch(`${m.url}/api/assets/${hash}`)).status).toBe(404);
    expect(await (await fetch(`${m.url}/api/assets/${hash}`)).json()).toMatchObject({ code: 'ASSET_NOT_FOUND' });
    expect((await put(m, hash, 'token check')).status).toBe(201);
    expect((await fetch(`${m.url}/api/assets/${hash}`)).status).toBe(200);
    for (const bad of ['ABC', hash.toUpperCase(), `${hash}0`]) {
      expect((await fetch(`${m.url}/api/assets/${bad}`)).status, bad).toBe(400);
      expect((await put(m, bad, 'x')).status, bad).toBe(400);
    }
  });
});

describe('[A2] jobs that name assets', () => {
  it('[A2] a job naming an asset this master does not have is 422 UNKNOWN_ASSET naming it, and no job is made', async () => {
    const before = (await (await m.api.raw('/api/jobs', { headers: m.api.headers })).json()) as { jobs: JobSummary[] };
    const stored = sha('stored');
    expect((await put(m, stored, 'stored')).status).toBeLessThan(300);
    const missing = sha('never uploaded');
    const res = await m.api.raw('/api/jobs', { method: 'POST', headers: m.api.headers, body: JSON.stringify({ code: 'export default (n) => n', inputs: [1], assets: { ok: stored, gone: missing } }) });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'UNKNOWN_ASSET', message: expect.stringContaining(`"gone" (${missing})`) as string });
    const after = (await (await m.api.raw('/api/jobs', { headers: m.api.headers })).json()) as { jobs: JobSummary[] };
    expect(after.jobs.length).toBe(before.jobs.length);
    // Names and hashes are checked by the schema: a bad name or hash is a 400 before any lookup.
    for (const assets of [{ 'bad name': stored }, { ok: 'not-a-hash' }, { '.hidden': stored }]) {
      const bad = await m.api.raw('/api/jobs', { method: 'POST', headers: m.api.headers, body: JSON.stringify({ code: 'export default (n) => n', inputs: [1], assets }) });
      expect(bad.status, JSON.stringify(assets)).toBe(400);
    }
  });

  it('[A2][A4] a job naming stored assets shows them (name, hash, size) in its summary and detail; its job frame names them and carries no bytes', async () => {
    const data = Buffer.from(JSON.stringify({ weights: [1, 2, 3] }));
    const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    for (const b of [data, wasm]) expect((await put(m, sha(b), b)).status).toBeLessThan(300);
    const job = await m.api.createJob({ name: 'with assets', code: 'export default (n) => n', inputs: [1, 2], assets: { 'data.json': sha(data), 'empty.wasm': sha(wasm) } });
    const refs = [
      { name: 'data.json', sha256: sha(data), size: data.length },
      { name: 'empty.wasm', sha256: sha(wasm), size: wasm.length },
    ];
    expect(job.assets).toEqual(refs);
    expect((await m.api.job(job.id)).assets).toEqual(refs);
    const detail = (await (await m.api.raw(`/api/jobs/${job.id}/detail`, { headers: m.api.headers })).json()) as JobDetail;
    expect(detail.summary.assets).toEqual(refs);

    const v = await RawVolunteer.join(m.url, 1);
    try {
      v.send({ type: 'want', n: 2 });
      const frame = await v.next('job');
      expect(frame).toEqual({ type: 'job', id: job.id, name: 'with assets', code: 'export default (n) => n', timeoutMs: 60_000, assets: refs });
      await v.next('tasks');
      expect(v.of('job')).toHaveLength(1);
    } finally {
      v.close();
      await m.api.cancel(job.id);
    }
  });
});
