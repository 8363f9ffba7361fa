import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { ADMISSION_OPEN_SQL, type ConcertCrowdColumns, ENTRY_OPEN_SQL, admissionHalt, entryRefusal } from './crowd-rules.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

/** Every combination of the crowd columns. */
const at = new Date('2030-01-01T00:00:00Z');
const cases: ConcertCrowdColumns[] = [];
for (const paused of [false, true])
  for (const sales_closed_at of [null, at])
    for (const sold_out of [false, true])
      for (const [sales_open_at, opened_at] of [
        [null, null],
        [at, null],
        [at, at],
      ] as const)
        cases.push({
          paused,
          sales_closed_at,
          sold_out,
          sales_open_at,
          opened_at,
          opened_through: opened_at ? 10 : null,
          admit_per_minute: null,
          arrival_seconds: 60,
        });

describe('crowd rules: each function and its SQL fragment agree', () => {
  it('on every combination of paused, closed, sold out and pre-queue', async () => {
    for (const concert of cases) {
      const [row] = await db.orm.em.fork().execute<{ entry_open: boolean; admission_open: boolean }[]>(
        `select ${ENTRY_OPEN_SQL('c')} as entry_open, ${ADMISSION_OPEN_SQL('c')} as admission_open
           from (select ?::boolean as paused, ?::timestamptz as sales_closed_at, ?::boolean as sold_out,
                        ?::timestamptz as sales_open_at, ?::timestamptz as opened_at) c`,
        [concert.paused, concert.sales_closed_at, concert.sold_out, concert.sales_open_at, concert.opened_at],
      );
      expect({ concert, entry: row?.entry_open, admission: row?.admission_open }).toEqual({
        concert,
        entry: entryRefusal(concert) === null,
        admission: admissionHalt(concert) === null,
      });
    }
  });
});
