import { describe, expect, it } from 'vitest';
import type { ClaimedTask, CommitBatch, CommitReceipt } from './store.ts';
import { packBatch, packClaims, packReceipt, unpackBatch, unpackClaims, unpackReceipt } from './wire.ts';

describe('the store thread\'s columns (wire.ts)', () => {
  it('[D5] a commit batch, its receipt and a claim cross in columns and come back as they were', () => {
    const batch: CommitBatch = {
      id: 'b1',
      owner: { master: 'm', gen: 2 },
      at: 5,
      tasks: [
        { kind: 'done', job: 'j1', index: 0, output: { a: [1, 2] }, failures: 1, losses: 0, by: { attempt: 'x.1', volunteer: 'v', leasedAt: 3, endedAt: 4 } },
        { kind: 'done', job: 'j2', index: 7, output: null, failures: 0, losses: 2 },
        { kind: 'failed', job: 'j1', index: 1, error: 'boom', failures: 3, losses: 0 },
        { kind: 'retry', job: 'j1', index: 2, error: null, failures: 0, losses: 1 },
      ],
      jobs: [{ id: 'j1', requeues: 1, replicas: 0, inconclusive: 0 }],
      attempts: [{ job: 'j2', index: 7, attempt: 'y.1', volunteer: 'w', leasedAt: 1.5, endedAt: 2.5, end: 'lost', error: null }],
      events: [{ t: 1, master: 'm', kind: 'k', text: 't' }],
    };
    expect(unpackBatch(structuredClone(packBatch(batch)))).toEqual(batch);
    const receipt: CommitReceipt = { applied: [true, false, true, true], votes: [], jobs: [], identities: [] };
    expect(unpackReceipt(structuredClone(packReceipt(receipt)))).toEqual(receipt);
    const claims: ClaimedTask[] = [
      { index: 3, input: 'x', failures: 0, losses: 1, error: 'e' },
      { index: 4, input: [1], failures: 2, losses: 0, error: null, votes: [] },
    ];
    expect(unpackClaims(structuredClone(packClaims(claims)))).toEqual(claims);
  });
});
