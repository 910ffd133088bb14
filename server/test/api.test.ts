import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, waitFor } from './helpers.ts';
import type { TaskWrite } from '../src/store/store.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster();
});
afterAll(async () => m.close());

const code = 'export default (n) => n * 2';

async function post(path: string, body: string, headers: Record<string, string> = m.api.headers) {
  const res = await m.api.raw(path, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as { message?: string; code?: string } };
}

/** Run `count` tasks on a raw volunteer, answering each with `answer(input)`. */
async function serve(v: RawVolunteer, count: number, answer: (input: unknown) => unknown) {
  v.send({ type: 'want', n: 4 });
  const leased = () => v.of('tasks').flatMap((t) => t.items);
  for (let handled = 0; handled < count; ) {
    await waitFor('more tasks', () => leased().length > handled);
    const items = leased().slice(handled);
    v.send({ type: 'results', items: items.map((t) => ({ a: t.a, ok: true, output: answer(t.input) })), want: items.length });
    handled += items.length;
  }
}

describe('REST API', () => {
  it('creates a job (201 once durable) and reads its summary', async () => {
    const job = await m.api.createJob({ name: 'double', code, inputs: [1, 2, 3], priority: 2 });
    expect(job).toMatchObject({ name: 'double', status: 'queued', total: 3, priority: 2, timeoutMs: 60000, maxAttempts: 3 });
    expect(job.counts).toEqual({ queued: 3, leased: 0, done: 0, failed: 0 });
    expect(await m.api.job(job.id)).toMatchObject({ id: job.id, total: 3 });
    await m.api.cancel(job.id);
  });

  it('lists jobs newest first, paginated with a cursor', async () => {
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) ids.push((await m.api.createJob({ code, inputs: [k] })).id);
    const res = await m.api.raw('/api/jobs?limit=2', { headers: m.api.headers });
    const page = (await res.json()) as { jobs: Array<{ id: string }>; next?: string };
    expect(page.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const older = (await (await m.api.raw(`/api/jobs?limit=2&cursor=${page.next}`, { headers: m.api.headers })).json()) as { jobs: Array<{ id: string }> };
    expect(older.jobs[0]!.id).toBe(ids[0]);
    for (const id of ids) await m.api.cancel(id);
  });

  it('[T1][J2] streams results as NDJSON in index order, and follow ends when the job does', async () => {
    const job = await m.api.createJob({ code, inputs: [10, 20, 30, 40] });
    const follow = m.api.results(job.id, true);
    const v = await RawVolunteer.join(m.url, 1);
    await serve(v, 4, (n) => (n as number) * 2);
    const followed = await follow;
    expect(followed.map((l) => l.index).sort()).toEqual([0, 1, 2, 3]);
    const res = await m.api.raw(`/api/jobs/${job.id}/results`, { headers: m.api.headers });
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    expect(await m.api.results(job.id)).toEqual([
      { index: 0, status: 'done', output: 20 },
      { index: 1, status: 'done', output: 40 },
      { index: 2, status: 'done', output: 60 },
      { index: 3, status: 'done', output: 80 },
    ]);
    expect(await m.api.job(job.id)).toMatchObject({ status: 'completed', counts: { done: 4, queued: 0, leased: 0, failed: 0 } });
    v.close();
  });

  it('[K6][J4] a follower ends when its job ended past its place on numbers no task holds any more (a failed task retried, then the job cancelled)', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2], maxAttempts: 1 });
    // Written through the store, as another master's commits are: no local event wakes this master's follower.
    const write = (w: TaskWrite) => m.store.commit({ tasks: [w], jobs: [], attempts: [] });
    await write({ kind: 'done', job: job.id, index: 0, output: 2, failures: 0, losses: 0 });
    const ac = new AbortController();
    const res = await m.api.raw(`/api/jobs/${job.id}/results?follow=true`, { headers: m.api.headers, signal: ac.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('\n')) text += (await reader.read()).value ?? '';
    // The follower is past task 0 (number 1). Task 1 fails (number 2), is retried (its number gone), the job is cancelled.
    await write({ kind: 'failed', job: job.id, index: 1, error: 'boom', failures: 1, losses: 0 });
    expect(await m.store.resetFailed(job.id)).toBe(1);
    await m.api.cancel(job.id);
    const rest = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
      return 'ended';
    })();
    const outcome = await Promise.race([rest, new Promise((r) => setTimeout(() => r('still following'), 3000))]);
    ac.abort();
    expect(outcome).toBe('ended');
    // Task 1's failure is in the stream only if a poll read it in the moment before its retry.
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(lines[0]).toEqual({ index: 0, status: 'done', output: 2 });
    expect(lines.slice(1)).toEqual(lines.length > 1 ? [{ index: 1, status: 'failed', error: 'boom' }] : []);
  });

  it('[J3] cancel stops the job and tells its volunteers to abort', async () => {
    const job = await m.api.createJob({ code, inputs: [1, 2, 3, 4, 5, 6] });
    const v = await RawVolunteer.join(m.url, 1);
    v.send({ type: 'want', n: 2 });
    const tasks = await v.next('tasks');
    const cancelled = await m.api.cancel(job.id);
    expect(cancelled.status).toBe('cancelled');
    const abort = await v.next('abort');
    expect(abort.attempts.sort()).toEqual(tasks.items.map((t) => t.a).sort());
    // A late result for an aborted attempt changes nothing.
    v.send({ type: 'results', items: [{ a: tasks.items[0]!.a, ok: true, output: 'late' }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(await m.api.results(job.id)).toEqual([]);
    expect((await m.api.job(job.id)).status).toBe('cancelled');
    v.close();
  });

  it('public stats and health need no token', async () => {
    const stats = await m.api.raw('/api/stats');
    expect(stats.status).toBe(200);
    expect(await stats.json()).toMatchObject({ volunteers: expect.any(Number), threads: expect.any(Number), tasksPerSecond: expect.any(Number) });
    expect((await m.api.raw('/healthz')).status).toBe(200);
  });
});

describe('bad input gets the right 4xx with a message', () => {
  it.each([
    ['malformed JSON', '{"code": "x", "inputs": [1,', 400],
    ['code of the wrong type', JSON.stringify({ code: 123, inputs: [1] }), 400],
    ['inputs not an array', JSON.stringify({ code, inputs: 'abc' }), 400],
    ['timeoutMs as a string', JSON.stringify({ code, inputs: [1], timeoutMs: '5000' }), 400],
    ['empty inputs', JSON.stringify({ code, inputs: [] }), 400],
    ['missing code', JSON.stringify({ inputs: [1] }), 400],
    ['unknown field', JSON.stringify({ code, inputs: [1], extra: true }), 400],
    ['code that does not parse', JSON.stringify({ code: 'export default (n) => {', inputs: [1] }), 400],
    ['code without a default export', JSON.stringify({ code: 'export const f = 1', inputs: [1] }), 400],
  ])('%s', async (_name, body, status) => {
    const res = await post('/api/jobs', body);
    expect(res.status).toBe(status);
    expect(res.body.message).toEqual(expect.any(String));
    expect(res.body.message!.length).toBeGreaterThan(5);
  });

  it('a syntax error says where', async () => {
    const res = await post('/api/jobs', JSON.stringify({ code: 'export default (n) => n +* 2', inputs: [1] }));
    expect(res.body).toMatchObject({ code: 'BAD_CODE', message: expect.stringMatching(/syntax error.*\(1:\d+\)/) });
  });

  it('an unknown job id is 404 on every job route', async () => {
    for (const [method, path] of [['GET', '/api/jobs/nope'], ['GET', '/api/jobs/nope/results'], ['POST', '/api/jobs/nope/cancel']] as const) {
      const res = await m.api.raw(path, { method, headers: { authorization: m.api.headers.authorization } });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('JOB_NOT_FOUND');
    }
  });

  it('a missing or wrong token is 401', async () => {
    const body = JSON.stringify({ code, inputs: [1] });
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${m.token}`, `Bearer ${m.token}x`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (authorization) headers.authorization = authorization;
      expect((await post('/api/jobs', body, headers)).status, String(authorization)).toBe(401);
      expect((await m.api.raw('/api/jobs', { headers })).status).toBe(401);
    }
  });

  it('bad query parameters are 400', async () => {
    expect((await m.api.raw('/api/jobs?limit=0', { headers: m.api.headers })).status).toBe(400);
    expect((await m.api.raw('/api/jobs?limit=abc', { headers: m.api.headers })).status).toBe(400);
  });
});
