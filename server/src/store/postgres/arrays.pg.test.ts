/** The commit's array literals (arrays.ts) against a real PostgreSQL: what it parses is what was sent. */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { intArray, textArray } from './arrays.ts';
import { describeWithPg, PG_TEST_URL } from './testing.ts';

describeWithPg('PostgreSQL array literals', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: PG_TEST_URL });
    await client.connect();
  });
  afterAll(() => client.end());

  const roundTrip = async (literal: string, type: string): Promise<unknown[]> => (await client.query<{ a: unknown[] }>(`SELECT $1::${type} AS a`, [literal])).rows[0]!.a;

  it('[D2] strings come back as sent: quotes, backslashes, NULL as text, empty, commas, braces, spaces, non-ASCII', async () => {
    const values = ['plain', '"quoted"', 'back\\slash', '\\"', 'NULL', 'null', '', ' lead and trail ', 'a,b', '{x}', '{"a":[1,"b\\n"]}', 'tab\there', 'line\nbreak', 'ünï cødé 🚀', null, '"'];
    expect(await roundTrip(textArray(values), 'text[]')).toEqual(values);
    expect(await roundTrip(textArray([]), 'text[]')).toEqual([]);
    expect(await roundTrip(textArray([null, null]), 'text[]')).toEqual([null, null]);
  });

  it('[D2] integers of each width come back as sent, nulls included', async () => {
    expect(await roundTrip(intArray([0, -1, 2147483647, -2147483648, null, 7]), 'int[]')).toEqual([0, -1, 2147483647, -2147483648, null, 7]);
    expect(await roundTrip(intArray([3, 2, null]), 'smallint[]')).toEqual([3, 2, null]);
    // bigint comes back as text from node-postgres: timestamps in ms are the column's usual values.
    expect(await roundTrip(intArray([1_764_500_000_123, Number.MAX_SAFE_INTEGER, undefined]), 'bigint[]')).toEqual(['1764500000123', String(Number.MAX_SAFE_INTEGER), null]);
    expect(await roundTrip(intArray([]), 'int[]')).toEqual([]);
  });

  it('[D2] a value no integer column takes is refused by PostgreSQL, not stored as something else', async () => {
    await expect(roundTrip(intArray([1.5]), 'int[]')).rejects.toThrow(/invalid input syntax/);
    await expect(roundTrip(intArray([Number.NaN]), 'int[]')).rejects.toThrow(/invalid input syntax/);
  });
});
