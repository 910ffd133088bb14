/**
 * [V3][V5][K5] A commit's identity events, applied to the records as stored: each identity the batch names is
 * locked (FOR UPDATE, in id order), its events applied in the batch's order with the same pure transitions
 * the master ran in memory (trust.ts), and the result written back. Two masters' passes on one identity thus
 * add up, and a create never overwrites. A record another master creates between the lock and the insert is
 * found by the insert's conflict: its events are applied again, to that record.
 */
import type { IdentityEvent, IdentityRecord } from '../store.ts';
import { applyTrustEvent } from '../../validation/trust.ts';
import type { Queryable } from './connect.ts';
import { pgText, toIdentity } from './rows.ts';
import { insertIdentities, lockIdentities, updateIdentities } from './sql/identities.ts';

/** Rounds of lock-apply-write: a second happens only when another master created an identity meanwhile. */
const ROUNDS = 3;

/** Apply `events` in this transaction; returns every identity they changed or created, as it is now, in the order SQLite gives. */
export async function applyIdentityEvents(db: Queryable, events: readonly IdentityEvent[]): Promise<IdentityRecord[]> {
  const byId = new Map<string, Array<{ at: number; event: IdentityEvent }>>();
  events.forEach((event, at) => {
    const id = pgText(event.id);
    const list = byId.get(id);
    if (list) list.push({ at, event });
    else byId.set(id, [{ at, event }]);
  });
  /** id -> the record now, and the position of the first event that gave it one (the receipt's order). */
  const results = new Map<string, { record: IdentityRecord; first: number }>();
  let pending = [...byId.keys()];
  for (let round = 0; round < ROUNDS && pending.length > 0; round++) {
    const stored = new Map((await lockIdentities(db, pending)).map((r) => [r.id, toIdentity(r)]));
    const created: Array<{ record: IdentityRecord; first: number }> = [];
    const changed: IdentityRecord[] = [];
    for (const id of pending) {
      const before = stored.get(id);
      let record = before;
      let first = -1;
      for (const { at, event } of byId.get(id)!) {
        const next = applyTrustEvent(record, event);
        if (!next) continue;
        if (first < 0) first = at;
        record = next;
      }
      if (!record) continue;
      results.set(id, { record, first });
      if (!before) created.push({ record, first });
      else if (record !== before) changed.push(record);
    }
    if (changed.length > 0) await updateIdentities(db, changed);
    if (created.length === 0) {
      pending = [];
      break;
    }
    created.sort((a, b) => a.first - b.first); // numbered in the order SQLite would insert them
    const inserted = new Set(await insertIdentities(db, created.map((c) => c.record)));
    pending = created.map((c) => pgText(c.record.id)).filter((id) => !inserted.has(id));
  }
  if (pending.length > 0) throw new Error(`identities ${pending.join(', ')} kept changing under this commit`);
  return [...results.values()].sort((a, b) => a.first - b.first).map((r) => r.record);
}
