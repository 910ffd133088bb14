import { describe, expect, it } from 'vitest';
import type { Owner, Store } from '../store/store.ts';
import { Liveness } from './liveness.ts';

/** A store whose beats can fail or hang, and which records what liveness asked of it. */
function fakeStore() {
  const calls: string[] = [];
  const state = { down: false, slowMs: 0 };
  const store = {
    async beat(owner: Owner) {
      calls.push(`beat ${owner.gen}`);
      if (state.slowMs) await new Promise((r) => setTimeout(r, state.slowMs));
      if (state.down) throw new Error('database down');
      return 0;
    },
    async releaseClaims(master: string, beforeGen?: number) {
      calls.push(`release ${master} before ${beforeGen}`);
      return 0;
    },
    async sweep() {
      return [];
    },
  } as unknown as Store;
  return { store, calls, state };
}

function liveness(store: Store, clock: { t: number }, extra: { exclusive?: boolean; afterBeat?: () => Promise<void> } = {}) {
  const seen: string[] = [];
  const l = new Liveness({
    ...extra,
    store,
    master: 'm1',
    url: () => 'http://m1',
    beatMs: 1000,
    ttlMs: 5000,
    stats: () => ({ volunteers: 0, threads: 0, tasksPerSecond: 0, tasksDone: 0, leased: 0 }),
    onLost: () => seen.push('lost'),
    onRegained: () => seen.push('regained'),
    onError: () => {},
    now: () => clock.t,
  });
  return { l, seen };
}

describe('master liveness (SPEC.md K2, K3)', () => {
  it('[K3] a slow start (long before the first beat) is not taken for a lost store', async () => {
    const { store } = fakeStore();
    const clock = { t: 0 };
    const { l, seen } = liveness(store, clock);
    clock.t = 10_000; // migrations and a sweep on a loaded machine
    await l.beat();
    expect(seen).toEqual([]);
    expect(l.alive()).toBe(true);
    expect(l.owner().gen).toBe(1);
  });

  it('[K3][K8] beats failing for the TTL less two beats: lost, a new generation; the next good beat releases the old claims', async () => {
    const { store, calls, state } = fakeStore();
    const clock = { t: 0 };
    const { l, seen } = liveness(store, clock);
    await l.beat();
    state.down = true;
    for (clock.t = 1000; clock.t <= 3000; clock.t += 1000) await l.beat();
    expect(seen, 'still within the margin at 3 s').toEqual([]);
    clock.t = 3001;
    await l.beat();
    expect(seen).toEqual(['lost']);
    expect(l.alive()).toBe(false);
    expect(l.owner().gen).toBe(2);
    state.down = false;
    clock.t = 9000;
    await l.beat();
    expect(seen).toEqual(['lost', 'regained']);
    expect(l.alive()).toBe(true);
    expect(calls).toContain('release m1 before 2');
  });

  it('[K3] a beat that answers late counts from when it was sent', async () => {
    const { store, state } = fakeStore();
    const clock = { t: 0 };
    const { l, seen } = liveness(store, clock);
    state.slowMs = 20;
    const beat = l.beat();
    clock.t = 2500; // the answer comes 2.5 s after the beat was stamped
    await beat;
    state.slowMs = 0;
    state.down = true;
    clock.t = 3001;
    await l.beat();
    expect(seen, 'the lease counts from the stamp at 0, not from the answer at 2.5 s').toEqual(['lost']);
  });

  it('[K3] a sweep or a read of the other masters waiting on a busy store does not hold back the next beats', async () => {
    const { store, calls } = fakeStore();
    const clock = { t: 0 };
    let release: () => void = () => {};
    const stuck = new Promise<void>((r) => (release = r));
    let reads = 0;
    const { l, seen } = liveness(store, clock, { afterBeat: () => (reads++ === 0 ? stuck : Promise.resolve()) });
    const first = l.beat(); // its read of the other masters hangs
    await new Promise((r) => setImmediate(r)); // its beat has landed
    for (clock.t = 1000; clock.t <= 6000; clock.t += 1000) await l.beat();
    expect(calls.filter((c) => c.startsWith('beat'))).toHaveLength(7);
    expect(seen).toEqual([]);
    expect(reads, 'one read at a time: none started while the first hangs').toBe(1);
    release();
    await first;
    await l.beat();
    expect(reads).toBe(2);
  });

  it('[K3] on a store of its own (SQLite), a beat still waiting on a busy store is no lapse; beats that fail still are', async () => {
    let answer: () => void = () => {};
    const { store, state } = fakeStore();
    let hang = true;
    const busy = { ...store, beat: () => (hang ? new Promise<number>((r) => (answer = () => r(0))) : Promise.resolve(0)) } as unknown as Store;
    const clock = { t: 0 };
    const { l, seen } = liveness(busy, clock, { exclusive: true });
    const first = l.beat();
    for (clock.t = 1000; clock.t <= 8000; clock.t += 1000) await l.beat();
    expect(seen).toEqual([]);
    expect(l.alive()).toBe(true);
    hang = false;
    answer();
    await first;
    // The beat sent at 0 landed at 8 s; the tick after it, and a tick late by 5 s, are no lapse either.
    clock.t = 9000;
    await l.beat();
    clock.t = 14_500;
    await l.beat();
    expect(seen).toEqual([]);
    // Failing beats on the same exclusive store: lost as on any store.
    const own = liveness(store, clock, { exclusive: true });
    clock.t = 10_000;
    await own.l.beat();
    state.down = true;
    for (clock.t = 11_000; clock.t <= 14_000; clock.t += 1000) await own.l.beat();
    expect(own.seen).toEqual(['lost']);
  });
});
