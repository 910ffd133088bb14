import v8 from 'node:v8';
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

  it('[D5] the columns of values cross as dense arrays (a holey one is cloned key by key, as a sparse array)', () => {
    // V8's serializer tags a dense array 'A' and a sparse one 'a', right after its 2-byte header.
    const dense = (a: unknown[]) => v8.serialize(a)[2] === 'A'.charCodeAt(0);
    expect(dense(new Array(2).fill(0))).toBe(false); // the check itself tells the two apart
    expect(dense([0, 0])).toBe(true);
    const tasks = Array.from({ length: 3 }, (_, i) => ({ kind: 'done' as const, job: 'j', index: i, output: i, failures: 0, losses: 0, by: { attempt: `a${i}`, volunteer: 'v', leasedAt: 1, endedAt: 2 } }));
    const attempts = [{ job: 'j', index: 0, attempt: 'b', volunteer: 'v', leasedAt: 1, endedAt: 2, end: 'lost' as const, error: null }];
    const p = packBatch({ tasks, attempts, jobs: [] });
    for (const col of [p.tasks.value, p.tasks.byAttempt, p.tasks.byVolunteer, p.attempts.attempt, p.attempts.volunteer, p.attempts.error]) expect(dense(col)).toBe(true);
    const c = packClaims([{ index: 1, input: 'x', failures: 0, losses: 0, error: null }]);
    for (const col of [c.input, c.error, c.votes]) expect(dense(col)).toBe(true);
  });
});
