import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobRecord, storeContract } from './contract.ts';
import { SqliteStore } from './sqlite/store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'barnraise-sqlite-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;

storeContract('sqlite (file, WAL)', async () => new SqliteStore({ file: path.join(dir, `contract-${n++}.db`) }));

describe('SqliteStore', () => {
  it('[D3] survives a reopen: what was committed is there after the process lets go of the file', async () => {
    const file = path.join(dir, 'reopen.db');
    const first = new SqliteStore({ file });
    const job = jobRecord({ total: 2 });
    await first.insertJob(job, ['a', 'b']);
    await first.commit({ tasks: [{ kind: 'done', job: job.id, index: 1, output: 'B', failures: 0, losses: 1 }], jobs: [], attempts: [] });
    await first.close();
    const second = new SqliteStore({ file });
    expect((await second.claimTasks(job.id, { master: 'm', gen: 1 }, 10)).map((t) => t.index)).toEqual([0]);
    expect(await second.readResults(job.id, -1, 10)).toEqual([{ index: 1, status: 'done', output: 'B' }]);
    await second.close();
  });
});
