import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DASHBOARD_PATH, FeedCloseCode, type FeedServerMessage, type JobDetail, type JobRow, type TaskDetailReply, type VolunteerPage } from '@barnraise/shared';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, waitFor } from './helpers.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster();
});
afterAll(async () => m.close());

/** A dashboard stream client collecting frames. */
async function feed(token: string) {
  const ws = new WebSocket(new URL(DASHBOARD_PATH, m.url.replace('http', 'ws')));
  const frames: FeedServerMessage[] = [];
  let closed: number | null = null;
  ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as FeedServerMessage));
  ws.on('close', (code) => (closed = code));
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'auth', token }));
  const rows = (id: string): JobRow[] => frames.flatMap((f) => f.jobs).filter((j) => j.id === id);
  return { ws, frames, closed: () => closed, rows };
}

const get = async <T>(path: string, init: RequestInit = {}) => {
  const res = await m.api.raw(path, { headers: m.api.headers, ...init });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
};

describe('dashboard stream and operator routes', () => {
  it('refuses a wrong token on the stream', async () => {
    const f = await feed('wrong');
    await waitFor('close', () => f.closed());
    expect(f.closed()).toBe(FeedCloseCode.Unauthorized);
    expect(f.frames).toEqual([]);
  });

  it('streams a snapshot, then deltas with job progress, volunteers joining and leaving, and events', async () => {
    const f = await feed(m.token);
    await waitFor('snapshot', () => f.frames[0]?.type === 'snapshot');
    const job = await m.api.createJob({ name: 'feed-job', code: 'export default (n) => n', inputs: [1, 2, 3] });
    const v = await RawVolunteer.join(m.url, 2);
    await waitFor('volunteer in the stream', () => f.frames.some((fr) => fr.volunteers.rows.some((r) => r.threads === 2) && fr.swarm.volunteers >= 1));
    v.send({ type: 'want', n: 3 });
    const tasks = await v.next('tasks');
    v.send({ type: 'results', items: tasks.items.map((t) => ({ a: t.a, ok: true, output: t.input })) });
    await waitFor('job row reaches completed', () => f.rows(job.id).some((r) => r.status === 'completed' && r.counts.done === 3), 5000);
    v.close();
    await waitFor('volunteer gone from the stream', () => {
      const last = f.frames[f.frames.length - 1]!;
      return last.swarm.volunteers === 0 && last.volunteers.total === 0;
    });
    const texts = f.frames.flatMap((fr) => ('events' in fr ? fr.events : [])).map((e) => e.kind);
    expect(texts).toEqual(expect.arrayContaining(['job-created', 'volunteer-joined', 'job-finished', 'volunteer-left']));
    const deltas = f.frames.filter((fr) => fr.type === 'delta');
    expect(deltas.length).toBeGreaterThan(1);
    // Compact: a delta repeats a job row only when it changed.
    const sigs = f.rows(job.id).map((r) => `${r.status}${r.counts.done}${r.counts.leased}${r.tasksPerSecond}`);
    expect(new Set(sigs).size).toBe(sigs.length);
    f.ws.close();
  });

  it('[J4] job detail shows code, samples and errors; a task shows its attempts; failed tasks can be retried', async () => {
    const code = 'export default (n) => { if (n < 0) throw new Error("negative " + n); return n * 10; }';
    const job = await m.api.createJob({ code, inputs: [1, -2, 3], maxAttempts: 1 });
    const v = await RawVolunteer.join(m.url, 1);
    v.send({ type: 'want', n: 3 });
    const tasks = await v.next('tasks');
    v.send({
      type: 'results',
      items: tasks.items.map((t) => ((t.input as number) < 0 ? { a: t.a, ok: false, error: `Error: negative ${t.input}` } : { a: t.a, ok: true, output: (t.input as number) * 10 })),
      want: 1,
    });
    await waitFor('completed', async () => (await m.api.job(job.id)).status === 'completed');
    const detail = await get<JobDetail>(`/api/jobs/${job.id}/detail`);
    expect(detail.code).toBe(code);
    expect(detail.sample).toEqual([{ index: 0, status: 'done', output: 10 }, { index: 2, status: 'done', output: 30 }]);
    expect(detail.errors).toEqual([{ index: 1, status: 'failed', error: 'Error: negative -2' }]);
    const task = await get<TaskDetailReply>(`/api/jobs/${job.id}/tasks/1`);
    expect(task).toMatchObject({ index: 1, state: 'failed', input: -2, failures: 1 });
    expect(task.attempts).toEqual([expect.objectContaining({ end: 'failed', error: 'Error: negative -2' })]);

    const retried = await get<{ status: string; counts: { queued: number; failed: number } }>(`/api/jobs/${job.id}/retry-failed`, { method: 'POST' });
    expect(retried).toMatchObject({ status: 'running', counts: { queued: 1, failed: 0 } });
    const again = await v.next('tasks', 2);
    expect(again.items.map((t) => t.i)).toEqual([1]);
    v.send({ type: 'results', items: [{ a: again.items[0]!.a, ok: true, output: 'fixed' }] });
    await waitFor('completed again', async () => (await m.api.job(job.id)).status === 'completed');
    expect((await m.api.results(job.id))[1]).toEqual({ index: 1, status: 'done', output: 'fixed' });
    const history = await get<TaskDetailReply>(`/api/jobs/${job.id}/tasks/1`);
    expect(history.attempts.map((a) => a.end)).toEqual(['failed', 'done']);
    v.close();
  });

  it('lists volunteers page by page', async () => {
    const vs = await Promise.all([1, 2, 3].map((n) => RawVolunteer.join(m.url, n)));
    const page = await get<VolunteerPage>('/api/volunteers?offset=1&limit=1');
    expect(page.total).toBe(3);
    expect(page.rows).toHaveLength(1);
    expect(page.rows[0]).toMatchObject({ agent: 'node', leases: 0, threads: expect.any(Number) });
    for (const v of vs) v.close();
    await waitFor('all gone', async () => (await get<VolunteerPage>('/api/volunteers')).total === 0);
  });
});
