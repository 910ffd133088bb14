/** [K7] The cluster's event log: lines written with the commits of every master, read by all. */
import type { ClusterEvent } from '../../store.ts';
import type { Queryable } from '../connect.ts';
import { pgText } from '../rows.ts';

export interface EventRow {
  seq: string;
  t: string;
  master: string;
  kind: string;
  text: string;
  job: string | null;
  volunteer: string | null;
  identity: string | null;
}

/** Append lines in the order given. */
export async function insertEvents(db: Queryable, events: readonly ClusterEvent[]): Promise<void> {
  const text = (k: 'master' | 'kind' | 'text') => events.map((e) => pgText(e[k]));
  const optional = (k: 'job' | 'volunteer' | 'identity') => events.map((e) => (e[k] === undefined ? null : pgText(e[k])));
  await db.query({
    name: 'barnraise.insertEvents',
    text: `INSERT INTO events (t, master, kind, text, job, volunteer, identity)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
    values: [events.map((e) => Math.trunc(e.t)), text('master'), text('kind'), text('text'), optional('job'), optional('volunteer'), optional('identity')],
  });
}

/**
 * Lines after `afterSeq`, oldest first. A line's seq is taken when its commit inserts it, so two commits
 * may become visible out of seq order: a reader can miss a line written in that instant (the log is for
 * people to read; results have their own gapless order, tasks.fin).
 */
export async function eventsSince(db: Queryable, afterSeq: number, limit: number): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>({
    name: 'barnraise.eventsSince',
    text: 'SELECT seq, t, master, kind, text, job, volunteer, identity FROM events WHERE seq > $1 ORDER BY seq LIMIT $2',
    values: [afterSeq, limit],
  });
  return rows;
}

/** Keep the newest `kept` lines. */
export async function trimEvents(db: Queryable, kept: number): Promise<void> {
  await db.query({ name: 'barnraise.trimEvents', text: 'DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - $1', values: [kept] });
}
