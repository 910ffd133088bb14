/** Section V over HTTP: a job's validation policy as POST /api/jobs takes it, and the master's default. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMaster, type TestMaster } from './app-fixture.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster({ validation: 'adaptive' }); // BARNRAISE_VALIDATION=adaptive
});
afterAll(async () => m.close());

const code = 'export default (n) => n * n';

async function post(body: unknown) {
  const res = await m.api.raw('/api/jobs', { method: 'POST', headers: m.api.headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { id: string; validation?: Record<string, unknown>; code?: string } };
}

describe('validation policy over REST (SPEC.md V)', () => {
  it('[V7][V8] a job that names no validation takes the master\'s default (BARNRAISE_VALIDATION); one that names it keeps its own', async () => {
    const plain = await post({ code, inputs: [1, 2] });
    expect(plain.status).toBe(201);
    expect(plain.body.validation).toMatchObject({ mode: 'adaptive', quorum: 2, maxReplicas: 6, validated: 0, awaiting: 0, inconclusive: 0, replicas: 0 });
    const none = await post({ code, inputs: [1, 2], validation: { mode: 'none' } });
    expect(none.status).toBe(201);
    expect(none.body.validation).toBeUndefined();
    const strict = await post({ code, inputs: [1, 2, 3], validation: { mode: 'strict', quorum: 3, maxReplicas: 5, compare: { numeric: { abs: 1e-9, rel: 1e-6 } } }, checks: [{ input: 4, output: 16 }] });
    expect(strict.status).toBe(201);
    expect(strict.body.validation).toMatchObject({ mode: 'strict', quorum: 3, maxReplicas: 5 });
    expect((await m.api.job(strict.body.id)).validation).toMatchObject({ mode: 'strict', quorum: 3, maxReplicas: 5 });
    for (const id of [plain.body.id, none.body.id, strict.body.id]) await m.api.cancel(id);
  });

  it('[V7] a policy the master cannot run is refused before anything is stored', async () => {
    const jobs = async () => ((await (await m.api.raw('/api/jobs?limit=100', { headers: m.api.headers })).json()) as { jobs: unknown[] }).jobs.length;
    const before = await jobs();
    for (const validation of [{ mode: 'sometimes' }, { mode: 'strict', quorum: 0 }, { mode: 'adaptive', compare: { numeric: { abs: -1 } } }, { mode: 'adaptive', compare: 'fuzzy' }]) {
      const res = await post({ code, inputs: [1], validation });
      expect(res.status, JSON.stringify(validation)).toBeGreaterThanOrEqual(400);
      expect(res.status, JSON.stringify(validation)).toBeLessThan(500);
    }
    const res = await post({ code, inputs: [1], validation: { mode: 'adaptive' }, checks: [{ input: 1 }] });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await jobs()).toBe(before);
  });
});
