/**
 * 4. Ingest: POST a job of 1,000,000 small inputs and time it to the 201 (the master answers once the job
 * and every input are durable), sampling the master's RSS every 50 ms from /proc. Beside it, the floor of
 * the same work: JSON.parse of the same body and one SQLite transaction inserting the same rows in the same
 * table shape (WAL, synchronous=FULL), in this process, with no HTTP, validation or scheduler.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Api, PLUS_ONE, range } from './lib/api.ts';
import type { Bench, BenchResult } from './lib/bench.ts';
import { Master } from './lib/master.ts';
import { readMemory, RssSampler, sleep } from './lib/proc.ts';
import { fmt, mb, verdict, type Row } from './lib/table.ts';

const FULL = 1_000_000;
const TARGET_MS = 10_000;
const TARGET_PEAK = 1e9;

/** Parse the body and insert its inputs in one durable transaction: what ingest cannot do without. */
function floor(json: string): { parseMs: number; insertMs: number; totalMs: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-bench-floor-'));
  const db = new Database(path.join(dir, 'floor.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE tasks (job_seq INTEGER NOT NULL, idx INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, input TEXT NOT NULL,
      output TEXT, error TEXT, failures INTEGER NOT NULL DEFAULT 0, losses INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (job_seq, idx)) WITHOUT ROWID`);
    const t0 = performance.now();
    const { inputs } = JSON.parse(json) as { inputs: unknown[] };
    const t1 = performance.now();
    const insert = db.prepare('INSERT INTO tasks (job_seq, idx, input) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < inputs.length; i++) insert.run(1, i, JSON.stringify(inputs[i] ?? null));
    })();
    const t2 = performance.now();
    return { parseMs: t1 - t0, insertMs: t2 - t1, totalMs: t2 - t0 };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const ingestBench: Bench = async (ctx): Promise<BenchResult> => {
  const inputs = ctx.quick ? 100_000 : FULL;
  const json = JSON.stringify({ name: 'ingest', code: PLUS_ONE, inputs: range(inputs) });
  const master = await Master.start();
  const api = new Api(master.url, master.token);
  try {
    await sleep(500);
    const before = readMemory(master.pid);
    const sampler = new RssSampler(master.pid, 50).start();
    ctx.log(`POST ${fmt(inputs)} inputs (${mb(json.length, 1)} of JSON)`);
    const t0 = performance.now();
    const job = await api.createJobRaw(json);
    const ms = performance.now() - t0;
    const peakToResponse = sampler.peak;
    // Memory can go on rising after the 201 (the scheduler holds the inputs): keep sampling a moment.
    await sleep(2_000);
    const peakAfter = sampler.stop();
    const after = readMemory(master.pid);
    if (job.total !== inputs) throw new Error(`job has ${job.total} tasks, expected ${inputs}`);
    const f = floor(json);

    const scale = FULL / inputs;
    const msAtFull = ms * scale;
    const peak = Math.max(peakAfter, after.hwm);
    const peakAtFull = before.rss + (peak - before.rss) * scale;
    const scaled = scale !== 1;
    const rows: Row[] = [
      {
        bench: 'ingest',
        figure: `${fmt(inputs)} inputs: time to 201${scaled ? ' (×10 → 1,000,000)' : ''}`,
        value: `${fmt(ms)} ms${scaled ? ` (→ ${fmt(msAtFull)} ms)` : ''}`,
        beside: `parse + one SQLite transaction ${fmt(f.totalMs)} ms`,
        target: '<= 10 s at 1,000,000',
        verdict: verdict(msAtFull, { atMost: TARGET_MS }),
      },
      {
        bench: 'ingest',
        figure: `${fmt(inputs)} inputs: peak master RSS${scaled ? ' (growth ×10)' : ''}`,
        value: `${mb(peak)}${scaled ? ` (→ ${mb(peakAtFull)})` : ''}`,
        beside: `before the POST ${mb(before.rss)}; body ${mb(json.length, 1)}`,
        target: '<= 1 GB at 1,000,000',
        verdict: verdict(peakAtFull, { atMost: TARGET_PEAK }),
      },
    ];
    return {
      name: 'ingest',
      rows,
      data: { inputs, bodyBytes: json.length, msTo201: ms, rssBefore: before.rss, peakRssSampledToResponse: peakToResponse, peakRssSampled: peakAfter, vmHwm: after.hwm, rssAfter: after.rss, floor: f, extrapolatedTo1M: scaled ? { msTo201: msAtFull, peakRss: peakAtFull } : null },
      notes: [
        `The body (${fmt(inputs)} inputs 0..N−1, code n => n + 1) is encoded before the clock starts; timed from just before POST /api/jobs to its 201 (the job and every input durable). Peak RSS: the larger of VmRSS sampled every 50 ms from just before the POST until 2 s after the 201 and the kernel's VmHWM.`,
        'Floor: JSON.parse of the same body plus one transaction of the same INSERTs into a table of the same shape (WAL, synchronous=FULL) in the bench process.',
        ...(scaled ? ['Quick run: 100,000 inputs; time and RSS growth are extrapolated ×10 for the verdict.'] : []),
      ],
    };
  } finally {
    await master.dispose();
  }
};
