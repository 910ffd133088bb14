/**
 * The OpenAPI document (rule O1): it passes a real OpenAPI validator, it describes every route of the app's
 * route table, and a client generated from it (openapi-typescript + openapi-fetch) type-checks against
 * what a caller writes, and calls a real master.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { cspText, DocsPolicy } from '@barnraise/shared';
import { Access } from '../src/security/access.ts';
import { DOCS_PREFIX, Security } from '../src/docs/openapi.ts';
import { startTestMaster, type TestMaster } from './app-fixture.ts';
import { SERVER_DIR } from './helpers.ts';

const run = promisify(execFile);
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, { schema: { properties?: { code?: { enum?: string[] } }; anyOf?: unknown[] } }> }>;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

let m: TestMaster;
let doc: Document;
beforeAll(async () => {
  m = await startTestMaster();
  const res = await m.api.raw(`${DOCS_PREFIX}/json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
});
afterAll(async () => m.close());

/** `/api/jobs/:id` as OpenAPI writes it: `/api/jobs/{id}`. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
/** Routes the document leaves out on purpose: the docs themselves and the page's static files. */
const undocumented = (url: string) => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`) || url === '/' || url === '/*';

describe('[O1] the OpenAPI document', () => {
  it('is served without a token at /docs/json and passes an OpenAPI 3.1 validator', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors, 'validation errors').toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route of the route table with a unique operationId, a summary, tags, its security and its errors', () => {
    const routes = m.app.routeTable.filter((r) => r.method !== 'HEAD' && !undocumented(r.url));
    expect(routes.length).toBeGreaterThanOrEqual(15);
    const ids = new Set<string>();
    for (const r of routes) {
      const op = doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
      const name = `${r.method} ${r.url}`;
      expect(op, `${name} is in the document`).toBeDefined();
      expect(op!.operationId, `${name} has an operationId`).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(op!.operationId!), `${name}: operationId ${op!.operationId} is unique`).toBe(false);
      ids.add(op!.operationId!);
      expect(op!.summary, `${name} has a summary`).toBeTruthy();
      expect(op!.tags?.length, `${name} has a tag`).toBeGreaterThan(0);
      if (r.access === Access.operator) {
        expect(op!.security, `${name} needs the operator token`).toEqual([{ [Security.operator]: [] }]);
        expect(op!.responses['401']?.content?.['application/json']?.schema.properties?.code?.enum, name).toEqual(['UNAUTHORIZED']);
      } else if (r.access === Access.scrape) {
        expect(op!.security, name).toEqual([{ [Security.operator]: [] }, { [Security.scrape]: [] }]);
      } else {
        expect(op!.security, `${name} is public or authenticates on its socket`).toEqual([]);
      }
      // Every JSON error response is an ErrorBody naming the codes it can carry (a page's 404 is text).
      for (const [status, response] of Object.entries(op!.responses)) {
        if (Number(status) < 400) continue;
        if (!response.content?.['application/json']) {
          expect(Object.keys(response.content ?? {}), `${name} ${status} is JSON or text`).toEqual(['text/plain']);
          continue;
        }
        const codes = response.content?.['application/json']?.schema.properties?.code?.enum;
        expect(codes?.length, `${name} ${status} lists its error codes`).toBeGreaterThan(0);
        for (const code of codes!) expect(response.description, `${name} ${status}`).toContain(code);
      }
    }
    // The API's own routes are all there (a route missing from the table would not be caught above).
    for (const id of ['createJob', 'listJobs', 'getJob', 'cancelJob', 'getJobResults', 'getJobDetail', 'getTask', 'retryFailedTasks', 'listVolunteers', 'listEvents', 'getStats', 'getSite', 'getHealth', 'getMetrics', 'putAsset', 'getAsset']) {
      expect(ids, id).toContain(id);
    }
  });

  it('lists what each route can answer: its own codes and those of the guard, the limiter and the body parser', () => {
    const codes = (p: string, method: string, status: number) => doc.paths[p]![method]!.responses[status]?.content?.['application/json']?.schema.properties?.code?.enum;
    expect(codes('/api/jobs', 'post', 400)).toEqual(['BAD_REQUEST', 'BAD_CODE', 'BAD_INPUT']);
    expect(codes('/api/jobs', 'post', 422)).toEqual(['IDEMPOTENCY_KEY_REUSED', 'UNKNOWN_ASSET']);
    expect(codes('/api/jobs', 'post', 413)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(codes('/api/jobs', 'post', 415)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
    expect(codes('/api/jobs', 'post', 503)).toEqual(['SHUTTING_DOWN']);
    expect(codes('/api/jobs/{id}/cancel', 'post', 409)).toEqual(['JOB_FINISHED']);
    expect(codes('/api/jobs/{id}', 'get', 404)).toEqual(['JOB_NOT_FOUND']);
    expect(codes('/api/stats', 'get', 429)).toEqual(['RATE_LIMITED']);
    expect(doc.paths['/api/stats']!.get!.responses['401'], 'a public route has no 401').toBeUndefined();
    // [A1] An asset's body is bytes of any type: too large or the wrong hash, never the wrong media type.
    expect(codes('/api/assets/{sha256}', 'put', 413)).toEqual(['PAYLOAD_TOO_LARGE']);
    expect(codes('/api/assets/{sha256}', 'put', 422)).toEqual(['ASSET_HASH_MISMATCH']);
    expect(codes('/api/assets/{sha256}', 'put', 507)).toEqual(['STORE_FULL']);
    expect(doc.paths['/api/assets/{sha256}']!.put!.responses['415']).toBeUndefined();
    expect(codes('/api/assets/{sha256}', 'get', 404)).toEqual(['ASSET_NOT_FOUND']);
    expect(doc.paths['/api/assets/{sha256}']!.get!.responses['401'], '[A3] reading an asset is public').toBeUndefined();
  });

  it('describes the results stream as NDJSON, one ResultLine per line', () => {
    const ok = doc.paths['/api/jobs/{id}/results']!.get!.responses['200']!;
    expect(Object.keys(ok.content ?? {})).toEqual(['application/x-ndjson']);
    expect(ok.description).toContain('one ResultLine per line');
    const line = ok.content!['application/x-ndjson']!.schema;
    expect(line.anyOf).toHaveLength(2);
    expect(JSON.stringify(line)).toContain('"done"');
    expect(JSON.stringify(line)).toContain('"failed"');
  });

  it('is browsable at /docs without a token, under the docs page\'s own Content-Security-Policy', async () => {
    const res = await m.api.raw(DOCS_PREFIX);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toBe(cspText(DocsPolicy));
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('swagger-initializer.js');
    // Its own policy there only: the API keeps the page's.
    expect((await m.api.raw('/api/stats')).headers.get('content-security-policy')).not.toBe(cspText(DocsPolicy));
  });
});

describe('[O1] a client generated from the document', () => {
  // Under server/node_modules so that the generated client resolves openapi-fetch as a user's project would.
  const dir = fs.mkdtempSync(path.join(SERVER_DIR, 'node_modules/.cache-openapi-client-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // What a caller writes: create a job and read it back, with the types the document gives.
  const CLIENT = `
import createClient from 'openapi-fetch';
import type { paths } from './api.ts';

const [url, token] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl: url, headers: { authorization: \`Bearer \${token}\` } });

const created = await client.POST('/api/jobs', {
  body: { name: 'generated', code: 'export default (n) => n * 3', inputs: [1, 2, 3], maxAttempts: 2 },
  params: { header: { 'idempotency-key': 'generated-client-1' } },
});
if (created.error) {
  const code: 'BAD_REQUEST' | 'BAD_CODE' | 'BAD_INPUT' | 'UNAUTHORIZED' | 'IDEMPOTENCY_KEY_REUSED' | 'UNKNOWN_ASSET' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'RATE_LIMITED' | 'SHUTTING_DOWN' | 'STORE_FULL' = created.error.code;
  throw new Error(code);
}
const id: string = created.data.id;
const job = await client.GET('/api/jobs/{id}', { params: { path: { id } } });
if (job.error) throw new Error(job.error.code === 'JOB_NOT_FOUND' ? 'not found' : job.error.message);
const status: 'queued' | 'running' | 'completed' | 'cancelled' = job.data.status;
const total: number = job.data.total;
const done: number = job.data.counts.done;
console.log(JSON.stringify({ id, status, total, done }));

// What the types must refuse: a job without code, a route that does not exist, a wrong parameter.
// @ts-expect-error code is required
void client.POST('/api/jobs', { body: { inputs: [1] } });
// @ts-expect-error no such route
void client.GET('/api/nope');
// @ts-expect-error the job id is a string
void client.GET('/api/jobs/{id}', { params: { path: { id: 7 } } });
`;
  const TSCONFIG = {
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'] },
    files: ['client.ts'],
  };

  /** Generate `api.ts` from `document` in `into` and type-check client.ts against it: tsc's exit code and output. */
  async function typeCheck(document: Document, into: string): Promise<{ code: number; output: string }> {
    fs.mkdirSync(into, { recursive: true });
    fs.writeFileSync(path.join(into, 'api.ts'), astToString(await openapiTS(document as never)));
    fs.writeFileSync(path.join(into, 'client.ts'), CLIENT);
    fs.writeFileSync(path.join(into, 'package.json'), '{ "type": "module" }\n');
    fs.writeFileSync(path.join(into, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    try {
      const { stdout } = await run(process.execPath, [TSC, '-p', into], { timeout: 120_000 });
      return { code: 0, output: stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  it('type-checks (tsc --noEmit) a caller of createJob and getJob, and that caller runs against the master', { timeout: 120_000 }, async () => {
    const checked = await typeCheck(doc, path.join(dir, 'real'));
    expect(checked.output).toBe('');
    expect(checked.code).toBe(0);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(dir, 'real/client.ts'), m.url, m.token], { cwd: SERVER_DIR, timeout: 60_000 });
    const out = JSON.parse(stdout.trim()) as { id: string; status: string; total: number; done: number };
    expect(out).toMatchObject({ id: expect.stringMatching(/.+/), total: 3 });
    expect((await m.api.job(out.id)).name).toBe('generated');
    await m.api.cancel(out.id);
  });

  it('fails to type-check when the document does not match what the caller uses', { timeout: 120_000 }, async () => {
    // The same caller against a document whose getJob takes a numeric id and whose jobs have no counts.
    const changed = structuredClone(doc);
    const getJob = changed.paths['/api/jobs/{id}']!.get! as unknown as { parameters: Array<{ name: string; schema: unknown }>; responses: Record<string, { content: Record<string, { schema: { properties: Record<string, unknown>; required: string[] } }> }> };
    getJob.parameters.find((p) => p.name === 'id')!.schema = { type: 'integer' };
    const summary = getJob.responses['200']!.content['application/json']!.schema;
    delete summary.properties.counts;
    summary.required = summary.required.filter((k) => k !== 'counts');
    const checked = await typeCheck(changed, path.join(dir, 'changed'));
    expect(checked.code).not.toBe(0);
    expect(checked.output).toMatch(/client\.ts\(\d+,\d+\): error TS\d+/);
    expect(checked.output).toContain("'counts'");
  });
});
