import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Reservation, Seat } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { inTransaction } from '../unit-of-work.ts';
import { admittedHolders, concertWithDates, reservationStatus, storedSeats } from '../../test/booking-fixtures.ts';
import { expireHold } from './expire-hold.ts';
import { holdSeats } from './hold-seats.ts';
import { sweepHolds } from './sweep-holds.ts';

const DATE = '2030-12-24';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

/**
 * Stand-in for payment's confirmation: under the reservation's version check (no lock), a HELD
 * reservation becomes CONFIRMED and its seats RESERVED. Answers whether it confirmed.
 */
async function confirm(reservationId: string): Promise<boolean> {
  return await inTransaction(db.orm.em, async (em) => {
    const reservation = await em.findOneOrFail(Reservation, reservationId);
    if (reservation.status !== 'HELD') return false;
    const seats = await em.find(Seat, { reservation, status: 'HELD' }, { orderBy: { number: 'asc' } });
    reservation.status = 'CONFIRMED';
    for (const seat of seats) seat.sellTo(reservation);
    await em.flush();
    return true;
  });
}

describe('expireHold', () => {
  it('expires a HELD reservation past its expiry and frees its seats; a second run changes nothing', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');
    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [3, 4] });

    expect(await expireHold(deps, held.reservationId)).toEqual({ outcome: 'not-due', expiresAt: new Date(held.expiresAt) });
    expect(await reservationStatus(db.orm, held.reservationId)).toBe('HELD');

    clock.advance(300_000);
    expect(await expireHold(deps, held.reservationId)).toEqual({ outcome: 'expired' });
    expect(await reservationStatus(db.orm, held.reservationId)).toBe('EXPIRED');
    expect(
      (await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).every((s) => s.status === 'AVAILABLE' && s.reservation_id === null),
    ).toBe(true);

    expect(await expireHold(deps, held.reservationId)).toEqual({ outcome: 'settled', status: 'EXPIRED' });
    expect(await expireHold(deps, '999999999')).toEqual({ outcome: 'missing' });
  });

  it('leaves a confirmed reservation alone: its seats stay RESERVED', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');
    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [8] });
    expect(await confirm(held.reservationId)).toBe(true);

    clock.advance(3_600_000);
    expect(await expireHold(deps, held.reservationId)).toEqual({ outcome: 'settled', status: 'CONFIRMED' });
    const seat = (await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).find((s) => s.number === 8);
    expect(seat).toMatchObject({ status: 'RESERVED', reservation_id: held.reservationId });
  });

  it('expiry racing a confirmation of the same reservation: exactly one wins, and each run ends consistent', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const dates = ['2030-01-01', '2030-01-02', '2030-01-03'];
    const concert = await concertWithDates(db.orm, dates);
    const runs = 30;
    const users = await admittedHolders(db.orm, clock, concert.concertId, runs, 3600);
    const holds = [];
    for (const [i, user] of users.entries()) {
      const date = dates[i % dates.length] ?? DATE;
      const first = 1 + Math.floor(i / dates.length) * 2;
      holds.push(await holdSeats(deps, user, { concertId: concert.concertId, date, seatNumbers: [first, first + 1] }));
    }
    // the expirer's clock is past every hold; the stand-in does not look at the time
    clock.advance(300_000);

    const wins = { expired: 0, confirmed: 0 };
    for (const hold of holds) {
      const [expiry, confirmed] = await Promise.all([expireHold(deps, hold.reservationId), confirm(hold.reservationId)]);
      const expired = expiry.outcome === 'expired';
      expect(expired !== confirmed, `run of reservation ${hold.reservationId}`).toBe(true);
      wins[expired ? 'expired' : 'confirmed'] += 1;

      const status = await reservationStatus(db.orm, hold.reservationId);
      const seats = (await storedSeats(db.orm, concert.scheduleIds[hold.date] ?? '')).filter((s) => hold.seatNumbers.includes(s.number));
      if (expired) {
        expect(status).toBe('EXPIRED');
        expect(seats.every((s) => s.status === 'AVAILABLE' && s.reservation_id === null)).toBe(true);
      } else {
        expect(status).toBe('CONFIRMED');
        expect(seats.every((s) => s.status === 'RESERVED' && s.reservation_id === hold.reservationId)).toBe(true);
      }
    }
    expect(wins.expired + wins.confirmed).toBe(runs);
  });
});

describe('sweepHolds', () => {
  it('expires every HELD reservation past its expiry in bounded batches, oldest first, and leaves live holds alone', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 60 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const users = await admittedHolders(db.orm, clock, concert.concertId, 4, 3600);
    const lapsed = [];
    for (const [i, user] of users.slice(0, 3).entries()) {
      lapsed.push(await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [20 + i] }));
      clock.advance(1_000);
    }
    clock.advance(60_000);
    const [last] = users.slice(3);
    if (!last) throw new Error('no user');
    const live = await holdSeats(deps, last, { concertId: concert.concertId, date: DATE, seatNumbers: [30] });

    expect(await sweepHolds(deps, { limit: 2 })).toEqual({ found: 2, expired: 2 });
    expect(await Promise.all(lapsed.map((r) => reservationStatus(db.orm, r.reservationId)))).toEqual(['EXPIRED', 'EXPIRED', 'HELD']);
    expect(await sweepHolds(deps, { limit: 2 })).toEqual({ found: 1, expired: 1 });
    expect(await sweepHolds(deps, { limit: 2 })).toEqual({ found: 0, expired: 0 });

    expect(await reservationStatus(db.orm, live.reservationId)).toBe('HELD');
    const stored = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    expect(stored.filter((s) => s.status !== 'AVAILABLE').map((s) => s.number)).toEqual([30]);
  });
});
