/**
 * [Y2] The syntax check of a Python job at submit, with Python's own parser: Pyodide (the same interpreter
 * volunteers run, so the same grammar) on a worker thread of the master. Chosen over running `python3`,
 * which the master's machine may lack or have in another version, and over a hand-written parser. The
 * thread starts with the first Python job (about 5-8 s, 160 MB), never for JavaScript jobs, and stops after
 * a minute without checks; each check is bounded in time, and one past it stops the thread (the next starts
 * a new one).
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SOURCE_DIR } from '../paths.ts';

/** A check past this is refused (a pathological source); the thread that ran it is stopped. */
const CHECK_MS = 10_000;
/** Time the thread may take to start (Pyodide loading on a busy machine). */
const START_MS = 60_000;
/** The thread stops after this long without checks: a master that saw one Python job keeps no 160 MB for ever. */
const IDLE_MS = 60_000;

interface Pending {
  resolve(problem: string | undefined): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

class Checker {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private idle: NodeJS.Timeout | undefined;

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const worker = new Worker(path.join(SOURCE_DIR, 'python/check-thread.mjs'));
    this.worker = worker;
    // Never what keeps the master's process alive.
    worker.unref();
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Python syntax checker did not start in time')), START_MS);
      worker.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    worker.on('message', (m: { id?: number; problem?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m.problem ?? undefined);
    });
    worker.on('error', (err) => this.stop(err));
    worker.on('exit', () => this.stop(new Error('the Python syntax checker stopped')));
    this.ready.catch((err: Error) => this.stop(err));
    return this.ready;
  }

  private stop(err: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (this.idle) clearTimeout(this.idle);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    void worker?.terminate();
  }

  async check(source: string): Promise<string | undefined> {
    if (this.idle) clearTimeout(this.idle);
    await this.start();
    const worker = this.worker!;
    const id = ++this.seq;
    try {
      return await new Promise<string | undefined>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          resolve(`code could not be parsed within ${CHECK_MS / 1000} s`);
          this.stop(new Error('a Python syntax check took too long'));
        }, CHECK_MS);
        this.pending.set(id, { resolve, reject, timer });
        worker.postMessage({ id, source });
      });
    } finally {
      if (this.pending.size === 0 && this.worker) {
        this.idle = setTimeout(() => this.stop(new Error('idle')), IDLE_MS).unref();
      }
    }
  }

  /** Stop the thread now (the master's close). */
  close(): void {
    if (this.worker) this.stop(new Error('closed'));
  }
}

let checker: Checker | undefined;

/** Undefined when `source` parses as Python and defines main; else what is wrong, with its line. */
export function checkPythonCode(source: string): Promise<string | undefined> {
  return (checker ??= new Checker()).check(source);
}

/** Stop the checker's thread, if it runs (tests, and the master's close). */
export function closePythonChecker(): void {
  checker?.close();
}
