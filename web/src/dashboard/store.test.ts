import { describe, expect, it } from 'vitest';
import type { FeedServerMessage, JobRow } from '@barnraise/shared';
import { mergeFrame, percentDone, selectIdentityEventSeq, sortedJobs, type DashboardState, type FeedSlice } from './store.ts';

const row = (id: string, done: number, createdAt = '2026-01-01T00:00:00.000Z'): JobRow => ({
  id,
  name: id,
  status: 'running',
  language: 'javascript',
  priority: 0,
  total: 10,
  counts: { queued: 10 - done, leased: 0, done, failed: 0 },
  requeues: 0,
  timeoutMs: 1000,
  maxAttempts: 3,
  createdAt,
  startedAt: null,
  finishedAt: null,
  tasksPerSecond: 0,
  etaSeconds: null,
});
const swarm = { volunteers: 1, threads: 2, tasksPerSecond: 0, tasksDone: 0, queued: 0, leased: 0, activeJobs: 1 };
const page = { total: 0, offset: 0, rows: [] };
const empty = { history: [], jobs: {}, events: [] } as unknown as FeedSlice;

describe('dashboard store', () => {
  it('a snapshot replaces, a delta merges only what changed', () => {
    const snap: FeedServerMessage = { type: 'snapshot', t: 1, swarm, history: [1, 2], jobs: [row('a', 1), row('b', 2)], events: [{ seq: 1, t: 1, kind: 'x', text: 'one' }], volunteers: page };
    const s1 = { ...empty, ...mergeFrame(empty, snap) } as FeedSlice;
    const delta: FeedServerMessage = { type: 'delta', t: 2, swarm, points: [3], jobs: [row('a', 5)], events: [{ seq: 2, t: 2, kind: 'x', text: 'two' }], volunteers: page };
    const s2 = { ...s1, ...mergeFrame(s1, delta) } as FeedSlice;
    expect(s2.jobs.a!.counts.done).toBe(5);
    expect(s2.jobs.b!.counts.done).toBe(2);
    expect(s2.history).toEqual([1, 2, 3]);
    expect(s2.events.map((e) => e.text)).toEqual(['one', 'two']);
  });
  it('orders jobs newest first and computes percent finished', () => {
    const jobs = { a: row('a', 0, '2026-01-01T00:00:00.000Z'), b: row('b', 0, '2026-01-02T00:00:00.000Z') };
    expect(sortedJobs(jobs).map((j) => j.id)).toEqual(['b', 'a']);
    expect(percentDone(row('a', 3))).toBe(30);
  });
  it('a ban arriving in a delta moves the identities table\'s refetch key; other events do not', () => {
    const snap: FeedServerMessage = { type: 'snapshot', t: 1, swarm, history: [], jobs: [], events: [{ seq: 1, t: 1, kind: 'volunteer-joined', text: 'joined' }], volunteers: page };
    const s1 = { ...empty, ...mergeFrame(empty, snap) } as FeedSlice;
    expect(selectIdentityEventSeq(s1 as DashboardState)).toBe(0);
    const ban = { seq: 2, t: 2, kind: 'identity-banned', identity: 'i_liar', text: 'identity i_liar banned: wrong result' };
    const s2 = { ...s1, ...mergeFrame(s1, { type: 'delta', t: 2, swarm, points: [], jobs: [], events: [ban], volunteers: page }) } as FeedSlice;
    expect(selectIdentityEventSeq(s2 as DashboardState)).toBe(2);
    const s3 = { ...s2, ...mergeFrame(s2, { type: 'delta', t: 3, swarm, points: [], jobs: [], events: [{ seq: 3, t: 3, kind: 'volunteer-left', text: 'left' }], volunteers: page }) } as FeedSlice;
    expect(selectIdentityEventSeq(s3 as DashboardState)).toBe(2);
  });
});
