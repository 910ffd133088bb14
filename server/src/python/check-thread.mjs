// The syntax checker's thread (check.ts): Pyodide from node_modules, Python's own parser (ast.parse) on
// each source it is sent. Plain JavaScript, so the thread starts without a TypeScript loader. Asked to
// (workerData.snapshot), it first takes a memory snapshot of its interpreter as it is just started, before
// any code ran in it, gzipped: what volunteers start theirs from (pyodide.ts, Y4).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const dir = path.dirname(require.resolve('pyodide/package.json')) + path.sep;
const { loadPyodide } = await import(require.resolve('pyodide/pyodide.mjs'));
const wantSnapshot = workerData?.snapshot === true;
const py = await loadPyodide({ indexURL: dir, lockFileContents: readFileSync(dir + 'pyodide-lock.json', 'utf8'), stdout: () => {}, stderr: () => {}, _makeSnapshot: wantSnapshot });
let snapshot;
if (wantSnapshot) {
  try {
    snapshot = gzipSync(py.makeMemorySnapshot());
  } catch (err) {
    snapshot = undefined;
    parentPort.postMessage({ snapshotError: String(err?.message ?? err) });
  }
}
py.runPython(`
import ast

def _barnraise_check(source):
    try:
        tree = ast.parse(source, "job.py")
    except SyntaxError as e:
        where = f" (line {e.lineno}, column {e.offset})" if e.lineno else ""
        return f"code has a syntax error: {e.msg}{where}"
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main":
            return None
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "main" for t in node.targets):
            return None
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == "main" for a in node.names):
            return None
    return "a Python job must define main(input, ctx) at the top level of its module"
`);
const check = py.globals.get('_barnraise_check');
parentPort.on('message', ({ id, source }) => {
  let problem;
  try {
    problem = check(source) ?? undefined;
  } catch (err) {
    problem = `code could not be checked: ${String(err?.message ?? err).split('\n').at(-2) ?? err}`;
  }
  parentPort.postMessage({ id, problem });
});
parentPort.postMessage({ ready: true, snapshot }, snapshot ? [snapshot.buffer] : []);
