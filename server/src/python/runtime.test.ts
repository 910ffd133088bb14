/**
 * The module a Python job runs as, in this process as a headless worker's thread runs it (a data: URL import,
 * its assets on a shelf): one interpreter per job, kept across its tasks, at most two per thread.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AssetShelf, runAttempt, taskFunctionOf, type TaskFunction } from '@barnraise/shared';
import { pythonJobModule } from './job.ts';
import { PYODIDE_SNAPSHOT_NAME } from '@barnraise/shared';
import { makePyodideSnapshot, PYODIDE_FILES, pyodideDir } from './pyodide.ts';

const dir = pyodideDir();
// Stand-in hashes: the shelf keys by them, the module names its temp directory by the wasm's.
const refs = PYODIDE_FILES.map((name) => ({ name, sha256: name.replace(/[^a-z]/g, '').padEnd(64, '0').slice(0, 64), size: readFileSync(path.join(dir, name)).length, source: path.join(dir, name) }));
const shelf = new AssetShelf(async (a) => new Uint8Array(readFileSync(a.source as string)));
const hashes = Object.fromEntries(refs.map((r) => [r.name, r.sha256]));
const live = () => (globalThis as unknown as Record<symbol, unknown[]>)[Symbol.for('barnraise.python.live')] ?? [];

async function jobModule(source: string): Promise<TaskFunction> {
  const code = pythonJobModule(source, hashes, []);
  return taskFunctionOf(await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`));
}

async function run(fn: TaskFunction, input: unknown, index = 0) {
  return runAttempt(fn, input, index, () => {}, () => performance.now(), await shelf.open(refs));
}

// Each job module keeps a counter in its interpreter's globals: it shows whether tasks shared one interpreter.
const COUNTER = (tag: string) => `
calls = 0
def main(n, ctx):
    global calls
    calls += 1
    return ["${tag}", n, calls, "calls_b" in globals()]
`;

describe('[Y4] interpreters in a thread', () => {
  it('[Y4] a job keeps one interpreter for its tasks, jobs do not share one, and a thread keeps at most two', async () => {
    const a = await jobModule(COUNTER('a'));
    expect(await run(a, 1)).toMatchObject({ ok: true, output: ['a', 1, 1, false] });
    expect(await run(a, 2)).toMatchObject({ ok: true, output: ['a', 2, 2, false] });
    const b = await jobModule(`calls_b = True\n${COUNTER('b')}`);
    expect(await run(b, 3)).toMatchObject({ ok: true, output: ['b', 3, 1, true] });
    expect(live()).toHaveLength(2);
    // Job a again: its interpreter was kept (two are).
    expect(await run(a, 4)).toMatchObject({ ok: true, output: ['a', 4, 3, false] });
    const c = await jobModule(COUNTER('c'));
    expect(await run(c, 5)).toMatchObject({ ok: true, output: ['c', 5, 1, false] });
    expect(live()).toHaveLength(2);
    // b was the least recently used: released, its next task starts a new interpreter (its count starts over).
    expect(await run(b, 6)).toMatchObject({ ok: true, output: ['b', 6, 1, true] });
    expect(live()).toHaveLength(2);
  }, 180_000);
});

describe('[Y4] interpreters started from the master\'s snapshot', () => {
  it('[Y4] a job\'s interpreter starts from the snapshot: fresh per job, and its random numbers its own', async () => {
    const gz = await makePyodideSnapshot();
    expect(gz, 'the snapshot thread made one').toBeInstanceOf(Uint8Array);
    const snapRef = { name: PYODIDE_SNAPSHOT_NAME, sha256: 'f'.repeat(64), size: gz!.byteLength, source: gz };
    const snapShelf = new AssetShelf(async (a) => (a.source instanceof Uint8Array ? a.source : new Uint8Array(readFileSync(a.source as string))));
    const all = [...refs, snapRef];
    const withSnapshot = async (source: string) => taskFunctionOf(await import(`data:text/javascript;base64,${Buffer.from(pythonJobModule(source, { ...hashes, [PYODIDE_SNAPSHOT_NAME]: snapRef.sha256 }, [])).toString('base64')}`));
    const SOURCE = `
import random, sys, json, re, collections, decimal
import js
seen = []
def main(n, ctx):
    seen.append(n)
    start = js.__barnraisePythonStart.to_py()
    # Modules imported after the start, and some work, on memory restored block by block.
    works = json.loads(json.dumps({"a": [1, 2]})) == {"a": [1, 2]} and re.sub(r"b+", "x", "abbbc") == "axc" and collections.Counter("aab")["a"] == 2 and str(decimal.Decimal(1) / 8) == "0.125"
    return [list(seen), random.random(), sys.version_info[:2] == (3, 14) and works, start]
`;
    // Two jobs (the same source would be one module: imports of one URL are one module).
    const a = await withSnapshot(`# job a${SOURCE}`);
    const b = await withSnapshot(`# job b${SOURCE}`);
    const ra = await runAttempt(a, 1, 0, () => {}, () => performance.now(), await snapShelf.open(all));
    const rb = await runAttempt(b, 2, 0, () => {}, () => performance.now(), await snapShelf.open(all));
    const ra2 = await runAttempt(a, 3, 1, () => {}, () => performance.now(), await snapShelf.open(all));
    expect(ra).toMatchObject({ ok: true, output: [[1], expect.any(Number), true, expect.objectContaining({ snapshot: true })] });
    expect(rb).toMatchObject({ ok: true, output: [[2], expect.any(Number), true, expect.objectContaining({ snapshot: true })] });
    // Job a kept its interpreter for its second task; b had one of its own.
    expect(ra2.ok && (ra2.output as unknown[])[0]).toEqual([1, 3]);
    const [oa, ob] = [ra, rb].map((r) => (r.ok ? (r.output as [number[], number, boolean, Record<string, number>]) : null));
    expect(oa![1], 'two interpreters from one snapshot draw different random numbers').not.toBe(ob![1]);
    console.log('starts from the snapshot (ms per step):', JSON.stringify(oa![3]), JSON.stringify(ob![3]));
  }, 180_000);
});

describe('[Y4] a snapshot that does not restore', () => {
  it('[Y4] a damaged snapshot: the interpreter starts the long way and the task runs', async () => {
    const { gzipSync } = await import('node:zlib');
    const bad = new Uint8Array(gzipSync(Buffer.alloc(4096, 7)));
    const badRef = { name: PYODIDE_SNAPSHOT_NAME, sha256: 'e'.repeat(64), size: bad.byteLength, source: bad };
    const badShelf = new AssetShelf(async (a) => (a.source instanceof Uint8Array ? a.source : new Uint8Array(readFileSync(a.source as string))));
    const code = pythonJobModule('# damaged\nimport js\ndef main(n, ctx):\n    return [n * 2, js.__barnraisePythonStart.to_py()["snapshot"]]\n', { ...hashes, [PYODIDE_SNAPSHOT_NAME]: badRef.sha256 }, []);
    const fn = taskFunctionOf(await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`));
    const out = await runAttempt(fn, 21, 0, () => {}, () => performance.now(), await badShelf.open([...refs, badRef]));
    expect(out).toMatchObject({ ok: true, output: [42, expect.stringMatching(/^failed: .*magic/i)] });
  }, 180_000);
});
