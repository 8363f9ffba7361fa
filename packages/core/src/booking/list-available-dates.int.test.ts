import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { admittedHolders, concertWithDates, outcomeOf } from '../../test/booking-fixtures.ts';
import { holdSeats } from './hold-seats.ts';
import { listAvailableDates } from './list-available-dates.ts';
import { listSeats } from './list-seats.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('listAvailableDates', () => {
  it('lists the performances to come with at least one seat free now, ascending; a lapsed hold counts as free', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, ['2030-12-26', '2020-01-01', '2030-12-24', '2030-12-25']);
    const users = await admittedHolders(db.orm, clock, concert.concertId, 13, 3600);
    // every seat of 2030-12-25 held: 12 holds of 4 seats and one of 2
    for (const [i, user] of users.entries()) {
      const seatNumbers = [1, 2, 3, 4].map((n) => n + i * 4).filter((n) => n <= 50);
      await holdSeats(deps, user, { concertId: concert.concertId, date: '2030-12-25', seatNumbers });
    }
    const [viewer] = users;
    if (!viewer) throw new Error('no users');

    expect(await listAvailableDates(deps, viewer, { concertId: concert.concertId })).toEqual([
      { scheduleId: concert.scheduleIds['2030-12-24'], date: '2030-12-24', startsAt: '2030-12-24T10:00:00.000Z', availableSeats: 50 },
      { scheduleId: concert.scheduleIds['2030-12-26'], date: '2030-12-26', startsAt: '2030-12-26T10:00:00.000Z', availableSeats: 50 },
    ]);

    clock.advance(300_000);
    const dates = await listAvailableDates(deps, viewer, { concertId: concert.concertId });
    expect(dates.map((d) => [d.date, d.availableSeats])).toEqual([
      ['2030-12-24', 50],
      ['2030-12-25', 50],
      ['2030-12-26', 50],
    ]);
  });

  it('counts only the seats free now', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, ['2030-12-24']);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');
    await holdSeats(deps, user, { concertId: concert.concertId, date: '2030-12-24', seatNumbers: [1, 2, 3] });
    const [date] = await listAvailableDates(deps, user, { concertId: concert.concertId });
    expect(date?.availableSeats).toBe(47);
  });

  it('a concert that is not the token’s is WRONG_CONCERT; an unknown concert is CONCERT_NOT_FOUND', async () => {
    const deps = testDeps(db.orm);
    const concert = await concertWithDates(db.orm, ['2030-12-24']);
    expect(await outcomeOf(listAvailableDates(deps, { concertId: concert.concertId }, { concertId: '99999999' }))).toBe('WRONG_CONCERT');
    expect(await outcomeOf(listAvailableDates(deps, { concertId: '99999999' }, { concertId: '99999999' }))).toBe('CONCERT_NOT_FOUND');
    expect(await outcomeOf(listSeats(deps, { concertId: '99999999' }, { concertId: '99999999', date: '2030-12-24' }))).toBe(
      'CONCERT_NOT_FOUND',
    );
  });
});

describe('listSeats', () => {
  it('shows all 50 seats ascending with their price and their status now', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, ['2030-12-24'], 88_000);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1, 3600);
    if (!user) throw new Error('no user');
    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: '2030-12-24', seatNumbers: [7, 49] });
    await db.orm.em
      .getConnection()
      .execute(`update seat set status = 'RESERVED', held_until = null where reservation_id = ? and number = 49`, [held.reservationId]);

    const view = await listSeats(deps, user, { concertId: concert.concertId, date: '2030-12-24' });

    expect(view.scheduleId).toBe(concert.scheduleIds['2030-12-24']);
    expect(view.date).toBe('2030-12-24');
    expect(view.seats.map((s) => s.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(view.seats.every((s) => s.price === 88_000)).toBe(true);
    expect(view.seats.filter((s) => s.status !== 'AVAILABLE')).toEqual([
      { number: 7, price: 88_000, status: 'HELD' },
      { number: 49, price: 88_000, status: 'RESERVED' },
    ]);

    clock.advance(300_000);
    const later = await listSeats(deps, user, { concertId: concert.concertId, date: '2030-12-24' });
    expect(later.seats.filter((s) => s.status !== 'AVAILABLE')).toEqual([{ number: 49, price: 88_000, status: 'RESERVED' }]);
  });

  it('an unknown date is SCHEDULE_NOT_FOUND; another concert is WRONG_CONCERT', async () => {
    const deps = testDeps(db.orm);
    const concert = await concertWithDates(db.orm, ['2030-12-24']);
    const other = await concertWithDates(db.orm, ['2030-12-24']);
    expect(await outcomeOf(listSeats(deps, concert, { concertId: concert.concertId, date: '2030-12-23' }))).toBe('SCHEDULE_NOT_FOUND');
    expect(await outcomeOf(listSeats(deps, concert, { concertId: other.concertId, date: '2030-12-24' }))).toBe('WRONG_CONCERT');
  });
});
