/**
 * A sold-out storm (docs/ARCHITECTURE.md#hot-paths): holds of seats that are taken are answered from one read,
 * without queueing behind the seat locks of other holds and payments, and with the same reason and
 * precedence as the locked path.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { admittedHolders, concertWithDates, outcomeOf } from '../../test/booking-fixtures.ts';
import { holdSeats } from './hold-seats.ts';

const DATE = '2030-12-24';
const OTHER_DATE = '2030-12-25';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('holdSeats in a sold-out storm', () => {
  it('a taken seat is SEAT_UNAVAILABLE while another transaction holds its row lock: the rejection waits for no lock', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [owner, stormer] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!owner || !stormer) throw new Error('no users');
    await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [7] });

    // a payment of that seat, say, in flight: its transaction holds the seat's row lock
    const locker = db.orm.em.fork();
    await locker.begin();
    try {
      await locker.execute(`select id from seat where schedule_id = ? and number = 7 for update`, [concert.scheduleIds[DATE]]);
      expect(await outcomeOf(holdSeats(deps, stormer, { concertId: concert.concertId, date: DATE, seatNumbers: [6, 7] }))).toBe(
        'SEAT_UNAVAILABLE',
      );
    } finally {
      await locker.rollback();
    }
  });

  it('keeps the locked path’s precedence: past the hold limit is HOLD_LIMIT_EXCEEDED even for a taken seat', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE, OTHER_DATE]);
    const [owner, greedy] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!owner || !greedy) throw new Error('no users');
    await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [1] });
    await holdSeats(deps, greedy, { concertId: concert.concertId, date: OTHER_DATE, seatNumbers: [1, 2, 3, 4] });

    expect(await outcomeOf(holdSeats(deps, greedy, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }))).toBe(
      'HOLD_LIMIT_EXCEEDED',
    );
  });

  it('a lapsed hold is not taken: its seat goes the locked way and is held (invariant 2)', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 60 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [owner, next] = await admittedHolders(db.orm, clock, concert.concertId, 2, 3600);
    if (!owner || !next) throw new Error('no users');
    await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [9] });
    clock.advance(60_000);

    expect(await outcomeOf(holdSeats(deps, next, { concertId: concert.concertId, date: DATE, seatNumbers: [9] }))).toBe('OK');
  });
});
