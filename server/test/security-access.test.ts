/**
 * Access (docs/THREAT-MODEL.md, rules S1-S5): every operator route refuses a missing or wrong token,
 * found by walking the app's route table, so routes added later are checked too; the join key; security
 * headers on pages; Idempotency-Key on job creation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createHash } from 'node:crypto';
import { CloseCode, CloseReason, cspMetaText, cspText, DashboardPolicy, sandboxPolicy, type JobSummary } from '@barnraise/shared';
import { bearerChecker } from '../src/auth.ts';
import { Access } from '../src/security/access.ts';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { RawVolunteer, startWorker, waitFor, type Proc } from './helpers.ts';

let m: TestMaster;
beforeAll(async () => {
  m = await startTestMaster();
});
afterAll(async () => m.close());

const code = 'export default (n) => n * 2';

/** Routes anyone may reach. Adding one here is a decision about who can see what: say why in the threat model. */
// /dashboard is the dashboard page's HTML: it holds no data, everything it shows comes over the
// token-checked /ws/dashboard feed and token-checked /api routes. /docs is the API reference (swagger-ui
// and the OpenAPI document): it describes the routes, the same for every master, and holds no data.
const DOCS_ROUTES = ['/docs', '/docs/', '/docs/json', '/docs/yaml', '/docs/static/*', '/docs/static/index.html', '/docs/static/swagger-initializer.js'];
const PUBLIC_ROUTES = new Set(['/', '/*', '/healthz', '/api/stats', '/api/site', '/dashboard', ...DOCS_ROUTES]);
/**
 * Public by method: reading an asset (rule A3). Assets are as public as job code, which every volunteer
 * receives; storing one needs the token.
 */
const PUBLIC_READS = new Set(['GET /api/assets/:sha256', 'HEAD /api/assets/:sha256']);
/** Concrete URL for a route pattern: params and wildcards filled with harmless values. */
const concrete = (url: string) => url.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, 'j_nope').replace(/\*$/, 'x');

describe('[S1] every operator route requires the token', () => {
  it('the route table has the known operator routes and classifies every route', () => {
    const table = m.app.routeTable;
    const operator = table.filter((r) => r.access === Access.operator).map((r) => `${r.method} ${r.url}`);
    for (const known of ['POST /api/jobs', 'GET /api/jobs', 'GET /api/jobs/:id', 'GET /api/jobs/:id/results', 'POST /api/jobs/:id/cancel', 'PUT /api/assets/:sha256']) {
      expect(operator, known).toContain(known);
    }
    for (const r of table) {
      const publicRoute = PUBLIC_ROUTES.has(r.url) || PUBLIC_READS.has(`${r.method} ${r.url}`);
      if (r.access === Access.public) expect(publicRoute, `public route ${r.method} ${r.url} is not in the list of public routes`).toBe(true);
      if (r.access === Access.socket) expect(r.url, 'only WebSocket routes authenticate on the socket').toMatch(/^\/ws\//);
      if (r.access === Access.scrape) expect(r.url, 'the scrape token opens the metrics only').toBe('/metrics');
      if (r.url.startsWith('/ws/')) expect(r.access, `${r.url} must authenticate on its socket`).toBe(Access.socket);
      if (r.url.startsWith('/api/') && !publicRoute) expect(r.access, `${r.method} ${r.url}`).toBe(Access.operator);
    }
  });

  it('every operator route (and the metrics) answers 401 UNAUTHORIZED to a missing, wrong, malformed or near-miss token', async () => {
    const routes = m.app.routeTable.filter((r) => r.access === Access.operator || r.access === Access.scrape);
    expect(routes.map((r) => r.url)).toContain('/metrics');
    expect(routes.length).toBeGreaterThanOrEqual(5);
    const attempts: Array<string | undefined> = [undefined, '', 'Bearer', 'Bearer wrong', `Basic ${m.token}`, `Bearer ${m.token}x`, `Bearer ${m.token.slice(0, -1)}`, `Bearer  ${m.token} extra`, m.token];
    for (const r of routes) {
      for (const authorization of attempts) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (authorization !== undefined) headers.authorization = authorization;
        const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) ? JSON.stringify({ code, inputs: [1] }) : undefined;
        const res = await m.api.raw(concrete(r.url), { method: r.method, headers, body });
        expect(res.status, `${r.method} ${r.url} with ${JSON.stringify(authorization)}`).toBe(401);
        if (r.method !== 'HEAD') expect(((await res.json()) as { code: string }).code).toBe('UNAUTHORIZED');
      }
    }
  });

  it('every operator route that takes params, a query or a body declares a schema for it', () => {
    for (const r of m.app.routeTable.filter((x) => x.access === Access.operator && x.method !== 'HEAD')) {
      if (r.url.includes(':') || r.method === 'POST') expect(r.validated, `${r.method} ${r.url} validates its input`).toBe(true);
    }
  });

  it('public routes answer without a token', async () => {
    for (const url of ['/healthz', '/api/stats', '/api/site', '/']) {
      expect((await m.api.raw(url)).status, url).toBe(200);
    }
  });

  it('the right token is accepted, and the check is by bearer scheme only', () => {
    const ok = bearerChecker('s3cret');
    expect(ok('Bearer s3cret')).toBe(true);
    expect(ok('bearer   s3cret ')).toBe(true);
    for (const bad of [undefined, '', 's3cret', 'Bearer s3cre', 'Bearer s3crett', 'Bearer s3cret x', 'Basic s3cret', 'Bearer S3CRET']) expect(ok(bad), String(bad)).toBe(false);
  });

  it('WebSocket routes refuse a plain HTTP request, and a socket route other than the volunteer one refuses a wrong auth frame', async () => {
    const sockets = m.app.routeTable.filter((r) => r.access === Access.socket && r.method === 'GET');
    expect(sockets.map((r) => r.url)).toContain('/ws/volunteer');
    for (const r of sockets) {
      const res = await m.api.raw(r.url);
      expect(res.status, `plain GET ${r.url}`).toBeGreaterThanOrEqual(400);
      if (r.url === '/ws/volunteer') continue;
      // The dashboard feed authenticates with a first frame {type:'auth', token}: a wrong one must close
      // the socket before any data is sent.
      const ws = new WebSocket(`${m.url.replace(/^http/, 'ws')}${r.url}`);
      const frames: Array<{ type?: string }> = [];
      ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as { type?: string }));
      const closed = new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'auth', token: `${m.token}x` }));
      const closeCode = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5000))]);
      expect(closeCode, `${r.url} closes on a wrong token`).toBeGreaterThanOrEqual(4000);
      expect(frames.filter((f) => f.type !== 'error'), `${r.url} sent data before auth`).toEqual([]);
      ws.terminate();
    }
  });
});

describe('[S5] Idempotency-Key on POST /api/jobs', () => {
  const post = (body: unknown, key?: string) =>
    m.api.raw('/api/jobs', { method: 'POST', headers: { ...m.api.headers, ...(key === undefined ? {} : { 'idempotency-key': key }) }, body: JSON.stringify(body) });

  it('the same key gives back the same job, however often and however concurrently it is sent', async () => {
    const body = { name: 'once', code, inputs: [1, 2, 3] };
    const first = await post(body, 'key-1');
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const job = (await first.json()) as JobSummary;
    const again = await post(body, 'key-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as JobSummary).id).toBe(job.id);

    const concurrent = await Promise.all(Array.from({ length: 10 }, () => post({ ...body, name: 'burst' }, 'key-burst')));
    const ids = await Promise.all(concurrent.map(async (r) => (expect(r.status).toBe(201), ((await r.json()) as JobSummary).id)));
    expect(new Set(ids).size, 'ten concurrent requests, one job').toBe(1);
    const listed = ((await (await m.api.raw('/api/jobs?limit=500', { headers: m.api.headers })).json()) as { jobs: JobSummary[] }).jobs;
    expect(listed.filter((j) => j.name === 'burst')).toHaveLength(1);
    expect(listed.filter((j) => j.name === 'once')).toHaveLength(1);
    for (const id of [job.id, ids[0]!]) await m.api.cancel(id);
  });

  it('without a key, or with another key, each POST makes a new job', async () => {
    const body = { code, inputs: [1] };
    const a = (await (await post(body)).json()) as JobSummary;
    const b = (await (await post(body)).json()) as JobSummary;
    const c = (await (await post(body, 'key-2')).json()) as JobSummary;
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    for (const j of [a, b, c]) await m.api.cancel(j.id);
  });

  it('a key reused with a different body is 422, a malformed key is 400, a failed create does not burn the key', async () => {
    const made = (await (await post({ code, inputs: [1] }, 'key-3')).json()) as JobSummary;
    const reused = await post({ code, inputs: [2] }, 'key-3');
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', message: expect.stringContaining('different') });
    for (const bad of ['has space', 'x'.repeat(256), 'ünïcode']) {
      const res = await m.api.raw('/api/jobs', { method: 'POST', headers: { ...m.api.headers, 'idempotency-key': encodeURI(bad) === bad ? bad : bad }, body: JSON.stringify({ code, inputs: [1] }) }).catch(() => null);
      // fetch itself refuses non-ASCII header values; the master must refuse the others.
      if (res) expect(res.status, bad).toBe(400);
    }
    const badCode = await post({ code: 'export default (', inputs: [1] }, 'key-4');
    expect(badCode.status).toBe(400);
    const fixed = await post({ code: 'export default (', inputs: [1] }, 'key-4');
    expect(fixed.status, 'a refused create reserved nothing: the same request is refused the same way').toBe(400);
    expect((await post({ code, inputs: [1] }, 'key-4')).status, 'the key is still free for a valid body').toBe(201);
    await m.api.cancel(made.id);
  });
});

describe('[S4] security headers', () => {
  it('the volunteer page has a CSP and cannot be framed by other sites', async () => {
    const res = await m.api.raw('/');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('a hostile Host header cannot write into the policy', async () => {
    const { request } = await import('node:http');
    const { port } = new URL(m.url);
    const csp = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host: "evil; script-src * 'unsafe-inline'" } }, (res) => {
        res.resume();
        resolve(String(res.headers['content-security-policy']));
      });
      req.on('error', reject);
      req.end();
    });
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('evil');
  });

  it('the sandbox page keeps its own policy (inline script by hash, blob: workers, no network) and also cannot be framed by others', async () => {
    const res = await m.api.raw('/sandbox.html');
    if (res.status === 404) return; // page not built; the volunteer page test above still ran
    const html = await res.text();
    // The hash of the script actually served, computed here, not the one the build recorded.
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
    expect(script).toBeDefined();
    const policy = sandboxPolicy(createHash('sha256').update(script!, 'utf8').digest('base64'));
    expect(res.headers.get('content-security-policy')).toBe(cspText(policy));
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${cspMetaText(policy)}">`);
    expect(cspText(policy)).toContain("connect-src 'none'");
    expect(cspText(policy)).toContain("frame-ancestors 'self'");
    expect(cspText(policy)).not.toContain("'self' ");
  });

  it('the dashboard sends its own policy, the one its <meta> carries', async () => {
    const res = await m.api.raw('/dashboard');
    if (res.status === 404) return; // not built
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/^default-src 'self'; .*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+; frame-src 'none'; .*frame-ancestors 'self'$/);
    expect(csp).toBe(cspText({ ...DashboardPolicy, 'connect-src': [...DashboardPolicy['connect-src']!, `ws://${new URL(m.url).host}`, `wss://${new URL(m.url).host}`] }));
    const html = await res.text();
    expect(html.replaceAll('&#39;', "'")).toContain(`content="${cspMetaText(DashboardPolicy)}"`);
  });

  it('API answers carry nosniff too', async () => {
    const res = await m.api.raw('/api/stats');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('[S3] join key', () => {
  let priv: TestMaster;
  beforeAll(async () => {
    priv = await startTestMaster({ joinKey: 'class-7b' });
  });
  afterAll(async () => priv.close());

  it('without the key, or with a wrong one, a volunteer is closed with 4003; with it, it joins and works', async () => {
    for (const query of ['', '?key=', '?key=class-7', '?key=class-7bb', '?other=class-7b']) {
      const v = await RawVolunteer.connect(priv.url, query);
      expect(await v.closedWith(), query || 'no query').toEqual({ code: CloseCode.Forbidden, reason: CloseReason.Forbidden });
      expect(v.received).toEqual([]);
    }
    const job = await priv.api.createJob({ code, inputs: [5] });
    const v = await RawVolunteer.join(priv.url, 1, '?key=class-7b');
    v.send({ type: 'want', n: 1 });
    const tasks = await v.next('tasks');
    v.send({ type: 'results', items: tasks.items.map((t) => ({ a: t.a, ok: true, output: (t.input as number) * 2 })) });
    await waitFor('job completed', async () => (await priv.api.job(job.id)).status === 'completed');
    expect(await priv.api.results(job.id)).toEqual([{ index: 0, status: 'done', output: 10 }]);
    v.close();
  });

  it('the headless worker takes the key by flag or in its URL, and gives up with exit code 2 on a wrong one', { timeout: 60_000 }, async () => {
    const workers: Proc[] = [];
    try {
      const wrong = startWorker(priv.url, 1, ['--join-key', 'nope']);
      workers.push(wrong);
      const exit = await Promise.race([wrong.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
      expect(exit, wrong.output()).toBe(2);
      expect(wrong.output()).toContain(CloseReason.Forbidden);
      const job = await priv.api.createJob({ code, inputs: [1, 2, 3, 4] });
      workers.push(startWorker(`${priv.url}/?key=class-7b`, 1), startWorker(priv.url, 1, ['--join-key', 'class-7b']));
      await waitFor('job completed by keyed workers', async () => (await priv.api.job(job.id)).status === 'completed', 40_000, 100);
      expect((await priv.api.results(job.id)).map((l) => l.status === 'done' && l.output)).toEqual([2, 4, 6, 8]);
    } finally {
      for (const w of workers) await w.kill('SIGKILL');
    }
  });

  it('the site tells the page the swarm is private; an open master says nothing', async () => {
    expect(await (await priv.api.raw('/api/site')).json()).toMatchObject({ joinKeyRequired: true });
    expect(await (await m.api.raw('/api/site')).json()).not.toHaveProperty('joinKeyRequired');
  });
});
