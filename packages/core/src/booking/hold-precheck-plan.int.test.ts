import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queryPrepared } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { admittedHolders, concertWithDates } from '../../test/booking-fixtures.ts';
import { holdSeats, readHoldPrecheck } from './hold-seats.ts';
import { testDeps } from '../testing.ts';

// one connection, so every call below runs on the session whose prepared statements we read
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 1 });
});
afterAll(async () => db?.drop());

const DATE = '2030-06-01';

describe('the sold-out hold precheck', () => {
  it('is planned once per connection, and its plan reads only the live holds of this user in this concert', async () => {
    const clock = manualClock(new Date('2030-05-01T00:00:00Z'));
    const concert = await concertWithDates(db.orm, [DATE]);
    const [holder, ...others] = await admittedHolders(db.orm, clock, concert.concertId, 21);
    if (!holder) throw new Error('no holder');
    // other users' live holds: what a plan by expiry alone would have to filter
    const deps = testDeps(db.orm, { clock });
    for (const [i, other] of others.entries())
      await holdSeats(deps, other, { concertId: concert.concertId, date: DATE, seatNumbers: [i + 1] });

    const claims = { ...holder, ticket: 0 };
    const input = { concertId: concert.concertId, date: DATE, seatNumbers: [1, 2] };
    for (let i = 0; i < 8; i++) {
      expect((await readHoldPrecheck(db.orm.em, claims, input, clock.now())).takenSeat).toBe(1);
    }

    const [stats] = await queryPrepared<{ generic_plans: string; custom_plans: string }>(
      db.orm.em,
      'test_prepared_statement_plans',
      `select generic_plans, custom_plans from pg_prepared_statements where name = $1`,
      ['frontrow_hold_precheck'],
    );
    expect(Number(stats?.custom_plans)).toBe(0);
    expect(Number(stats?.generic_plans)).toBeGreaterThanOrEqual(8);

    const plan = await db.orm.em
      .getConnection()
      .execute<{ 'QUERY PLAN': unknown }[]>(`explain (format json) execute frontrow_hold_precheck(?, ?, ?, ?, ?, ?)`, [
        holder.tokenId,
        concert.concertId,
        DATE,
        clock.now(),
        '{1,2}',
        holder.userId,
      ]);
    const text = JSON.stringify(plan);
    expect(text).toContain('reservation_user_concert_live_until');
    expect(text).not.toContain('reservation_held_expires_at');
  });
});
