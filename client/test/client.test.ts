/**
 * @barnraise/client against a real master process and a real headless worker on loopback; drops are made
 * by a TCP proxy that really cuts the connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startMaster, startWorker, tempDir, waitFor, type MasterProc, type Proc } from '../../server/test/helpers.ts';
import { Barnraise, JobNotFoundError, TaskError, UnauthorizedError, type TaskResult } from '../src/index.ts';
import { CutProxy } from './proxy.ts';

const token = 'client-test-token';
const dataDir = tempDir();
let master: MasterProc;
let worker: Proc;
let br: Barnraise;

beforeAll(async () => {
  master = await startMaster({ dataDir, token });
  worker = startWorker(master.url, 2);
  br = new Barnraise({ url: master.url, token });
  await waitFor('the worker online', async () => (await br.stats()).volunteers === 1);
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await master?.kill('SIGTERM');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Index 0 takes 800 ms, the others 5 ms: they end long before it. */
const slowFirst = `export default async (n) => { await new Promise((r) => setTimeout(r, n === 0 ? 800 : 5)); return n * n; }`;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const newestJob = async () => (await br.listJobs({ limit: 1 })).jobs[0]!;

describe('@barnraise/client against a real master', () => {
  it('[T1][J2] map yields outputs in input order; asCompleted yields each task once as it ends', async () => {
    const outputs: unknown[] = [];
    for await (const out of br.map(slowFirst, range(40))) outputs.push(out);
    expect(outputs).toEqual(range(40).map((n) => n * n));

    const job = await br.submit({ code: slowFirst, inputs: range(40) });
    const order: number[] = [];
    for await (const r of job.asCompleted()) {
      expect(r.status).toBe('done');
      order.push(r.index);
    }
    expect(order[0], 'a fast task comes before the slow index 0').not.toBe(0);
    expect([...order].sort((a, b) => a - b)).toEqual(range(40));

    const ordered: number[] = [];
    for await (const r of job.results()) ordered.push(r.index);
    expect(ordered).toEqual(range(40));
  });

  it('[T2] a failed task is a TaskError value with its index, message and attempts; the loop goes on', async () => {
    const code = `export default (n) => { if (n % 3 === 0) throw new RangeError('no multiples of 3: ' + n); return -n; }`;
    const got: unknown[] = [];
    for await (const out of br.map(code, range(12), { maxAttempts: 2 })) got.push(out);
    expect(got).toHaveLength(12);
    for (const [i, out] of got.entries()) {
      if (i % 3 !== 0) {
        expect(out).toBe(-i);
        continue;
      }
      expect(out).toBeInstanceOf(TaskError);
      const err = out as TaskError;
      expect({ index: err.index, code: err.code, message: err.message, attempts: err.attempts }).toEqual({
        index: i,
        code: 'TASK_FAILED',
        message: `RangeError: no multiples of 3: ${i}`,
        attempts: 2,
      });
      expect(JSON.parse(JSON.stringify(err))).toEqual({ index: i, status: 'failed', error: `RangeError: no multiples of 3: ${i}` });
    }
  });

  it('[J2] a followed results stream that drops (mid-line, and again while the job runs) resumes: nothing repeated, nothing missed', async () => {
    // Tasks 0-99 end at once, 100-199 take 30 ms each: the stream has a final part and a live tail.
    const code = `export default async (n) => { if (n >= 100) await new Promise((r) => setTimeout(r, 30)); return 'x'.repeat(1000) + n; }`;
    const job = await br.submit({ code, inputs: range(200) });
    await waitFor('the first 100 tasks final', async () => (await job.get()).counts.done >= 100);

    const proxy = await CutProxy.start(master.port);
    try {
      const viaProxy = new Barnraise({ url: proxy.url, token });
      let firstCut = false;
      // The first read of the results is cut after 3,000 bytes: inside the final part, inside a line.
      proxy.cutWhen = (conn, chunk) => {
        if (firstCut || !conn.request.includes('/results') || conn.bytesDown + chunk.length <= 3000) return false;
        firstCut = true;
        return 3000 - conn.bytesDown;
      };
      const seen: TaskResult[] = [];
      let runningAtSecondCut = false;
      for await (const r of viaProxy.job(job.id).asCompleted()) {
        // The cut read had already given its first lines: the next read must skip them.
        if (seen.length === 0) expect(proxy.requests.filter((q) => q.includes('/results'))).toHaveLength(1);
        seen.push(r);
        if (seen.length === 150) {
          runningAtSecondCut = (await job.get()).status !== 'completed';
          proxy.cutAll();
        }
      }
      expect(firstCut).toBe(true);
      expect(runningAtSecondCut, 'the second drop happens while the job runs').toBe(true);
      expect(proxy.cuts).toBeGreaterThanOrEqual(2);
      expect(proxy.requests.filter((r) => r.includes('/results')).length, 'the stream was read again after each drop').toBeGreaterThanOrEqual(3);
      expect(seen.map((r) => r.index).sort((a, b) => a - b)).toEqual(range(200));
      for (const r of seen) expect(r).toEqual({ index: r.index, status: 'done', output: 'x'.repeat(1000) + r.index });
    } finally {
      await proxy.close();
    }
  });

  it('[J2] a followed stream whose connection goes silent is read again once the master says tasks ended meanwhile', async () => {
    const code = `export default async (n) => { if (n >= 100) await new Promise((r) => setTimeout(r, 30)); return n; }`;
    const job = await br.submit({ code, inputs: range(200) });
    await waitFor('the first 100 tasks final', async () => (await job.get()).counts.done >= 100);
    const proxy = await CutProxy.start(master.port);
    try {
      const seen: number[] = [];
      let frozeWhileRunning = false;
      for await (const r of new Barnraise({ url: proxy.url, token }).job(job.id).asCompleted({ idleMs: 400 })) {
        seen.push(r.index);
        if (seen.length === 120) {
          frozeWhileRunning = (await job.get()).status !== 'completed';
          proxy.freezeAll();
        }
      }
      expect(frozeWhileRunning).toBe(true);
      expect(proxy.requests.filter((q) => q.includes('/results')).length).toBeGreaterThanOrEqual(2);
      expect([...seen].sort((a, b) => a - b)).toEqual(range(200));
    } finally {
      await proxy.close();
    }
  });

  it('[J3] aborting map cancels the job on the master; so does leaving the loop early', async () => {
    const code = `export default async (n) => { await new Promise((r) => setTimeout(r, 50)); return n; }`;
    const abort = new AbortController();
    const got: unknown[] = [];
    await expect(
      (async () => {
        for await (const out of br.map(code, range(200), { signal: abort.signal })) {
          got.push(out);
          if (got.length === 3) abort.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    const rest = api(master.url, token);
    const aborted = await newestJob();
    const cancelled = await waitFor('the aborted job cancelled', async () => {
      const j = await rest.job(aborted.id);
      return j.status === 'cancelled' && j;
    });
    expect(cancelled.counts.done).toBeLessThan(200);

    for await (const out of br.map(code, range(200))) if (out === 1) break;
    const left = await newestJob();
    expect(left.id).not.toBe(aborted.id);
    await waitFor('the job left early cancelled', async () => (await rest.job(left.id)).status === 'cancelled');
  });

  it('[S5] submit retries with the same Idempotency-Key when the reply is lost: one job, not two', async () => {
    const proxy = await CutProxy.start(master.port);
    try {
      let cut = false;
      proxy.cutWhen = (conn) => {
        if (cut || !conn.request.startsWith('POST /api/jobs')) return false;
        return (cut = true);
      };
      const before = (await br.listJobs({ limit: 500 })).jobs.length;
      const job = await new Barnraise({ url: proxy.url, token }).submit({ code: 'export default (n) => n + 1', inputs: [1, 2, 3] });
      expect(cut).toBe(true);
      expect(proxy.requests.filter((r) => r === 'POST /api/jobs')).toHaveLength(2);
      expect((await br.listJobs({ limit: 500 })).jobs.length).toBe(before + 1);
      const outs: unknown[] = [];
      for await (const r of br.job(job.id).results()) outs.push(r.status === 'done' && r.output);
      expect(outs).toEqual([2, 3, 4]);
    } finally {
      await proxy.close();
    }
  });

  it('[J1][J4] progress reports counts, a rate and time left, and ends when the job does; wait, retry, dispose', async () => {
    const job = await br.submit({ code: `export default async (n) => { await new Promise((r) => setTimeout(r, 20)); if (n === 7) throw new Error('seven'); return n; }`, inputs: range(100), maxAttempts: 1 });
    const reports = [];
    for await (const p of job.progress({ intervalMs: 200 })) reports.push(p);
    const last = reports.at(-1)!;
    expect(last).toMatchObject({ status: 'completed', total: 100, done: 99, failed: 1, finished: true, etaSeconds: 0 });
    expect(reports.some((p) => p.tasksPerSecond > 0 && p.etaSeconds !== null && p.etaSeconds > 0)).toBe(true);

    const again = await job.retryFailed();
    expect(again.counts.failed).toBe(0);
    expect((await job.wait()).counts).toMatchObject({ done: 99, failed: 1 });

    let id: string;
    {
      await using unfinished = await br.submit({ code: `export default async (n) => { await new Promise((r) => setTimeout(r, 100)); return n; }`, inputs: range(100) });
      id = unfinished.id;
    }
    expect((await br.getJob(id)).status, 'leaving the scope cancelled the unfinished job').toBe('cancelled');
  });

  it('API errors are classes with the literal code of the error body', async () => {
    await expect(br.getJob('j_nosuchjob')).rejects.toBeInstanceOf(JobNotFoundError);
    await expect(br.getJob('j_nosuchjob')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', status: 404 });
    await expect(new Barnraise({ url: master.url, token: 'wrong' }).listJobs()).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(br.submit({ code: 'export const x = 1', inputs: [1] })).rejects.toMatchObject({ code: 'BAD_CODE', status: 400 });
    const stats = await br.stats();
    expect(stats.volunteers).toBe(1);
  });

  it('[A1] uploadAsset stores bytes, a Blob or a file (streamed) by their SHA-256, and skips the upload when HEAD says the master has it', async () => {
    const calls: string[] = [];
    const counting = new Barnraise({
      url: master.url,
      token,
      fetch: (input, init) => {
        calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
    });
    const bytes = new Uint8Array(randomBytes(100_000));
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(await counting.hasAsset(sha)).toBe(false);
    calls.length = 0;
    expect(await counting.uploadAsset(bytes)).toBe(sha);
    expect(calls).toEqual([`HEAD /api/assets/${sha}`, `PUT /api/assets/${sha}`]);
    calls.length = 0;
    expect(await counting.uploadAsset(new Blob([bytes]))).toBe(sha);
    expect(calls, 'the master has it: no upload').toEqual([`HEAD /api/assets/${sha}`]);

    const file = path.join(dataDir, 'asset.bin');
    const fileBytes = randomBytes(3 * 1024 * 1024);
    fs.writeFileSync(file, fileBytes);
    const fileSha = createHash('sha256').update(fileBytes).digest('hex');
    expect(await counting.uploadAsset(file)).toBe(fileSha);
    const stored = await fetch(`${master.url}/api/assets/${fileSha}`);
    expect(Buffer.from(await stored.arrayBuffer()).equals(fileBytes)).toBe(true);
    await expect(counting.uploadAsset(path.join(dataDir, 'no-such-file'))).rejects.toMatchObject({ code: 'NO_FILES' });
  });
});
