import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { admittedHolders, concertWithDates, outcomeOf, reservationStatus, storedSeats } from '../../test/booking-fixtures.ts';
import { cancelReservation } from './cancel-reservation.ts';
import { expireHold } from './expire-hold.ts';
import { holdSeats } from './hold-seats.ts';

const DATE = '2030-12-24';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('cancelReservation', () => {
  it('cancels the caller’s live hold: CANCELLED, its seats AVAILABLE at once and holdable by someone else', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [owner, other] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!owner || !other) throw new Error('no users');
    const held = await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [1, 2] });

    expect(await cancelReservation(deps, owner, { reservationId: held.reservationId })).toEqual({
      reservationId: held.reservationId,
      status: 'CANCELLED',
    });

    expect(await reservationStatus(db.orm, held.reservationId)).toBe('CANCELLED');
    expect(
      (await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).every((s) => s.status === 'AVAILABLE' && s.reservation_id === null),
    ).toBe(true);
    expect(await outcomeOf(holdSeats(deps, other, { concertId: concert.concertId, date: DATE, seatNumbers: [2] }))).toBe('OK');
    // the cancelled seats no longer count toward the owner's limit
    expect(await outcomeOf(holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [5, 6, 7, 8] }))).toBe('OK');
  });

  it('someone else’s reservation and an unknown one are RESERVATION_NOT_FOUND, and nothing changes', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [owner, other] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!owner || !other) throw new Error('no users');
    const held = await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [3] });

    expect(await outcomeOf(cancelReservation(deps, other, { reservationId: held.reservationId }))).toBe('RESERVATION_NOT_FOUND');
    expect(await outcomeOf(cancelReservation(deps, other, { reservationId: '987654321' }))).toBe('RESERVATION_NOT_FOUND');
    expect(await reservationStatus(db.orm, held.reservationId)).toBe('HELD');
  });

  it('a second cancel answers the same; a lapsed or expired hold is HOLD_EXPIRED; a paid one RESERVATION_NOT_PAYABLE', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1, 3600);
    if (!user) throw new Error('no user');
    const hold = (seatNumbers: number[]) => holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers });

    const cancelled = await hold([1]);
    await cancelReservation(deps, user, { reservationId: cancelled.reservationId });
    expect(await cancelReservation(deps, user, { reservationId: cancelled.reservationId })).toEqual({
      reservationId: cancelled.reservationId,
      status: 'CANCELLED',
    });

    const paid = await hold([2]);
    await db.orm.em.getConnection().execute(`update reservation set status = 'CONFIRMED' where id = ?`, [paid.reservationId]);
    await db.orm.em
      .getConnection()
      .execute(`update seat set status = 'RESERVED', held_until = null where reservation_id = ?`, [paid.reservationId]);
    expect(await outcomeOf(cancelReservation(deps, user, { reservationId: paid.reservationId }))).toBe('RESERVATION_NOT_PAYABLE');

    const lapsing = await hold([3]);
    const expiring = await hold([4]);
    clock.advance(300_000);
    await expireHold(deps, expiring.reservationId);
    expect(await outcomeOf(cancelReservation(deps, user, { reservationId: lapsing.reservationId }))).toBe('HOLD_EXPIRED');
    expect(await outcomeOf(cancelReservation(deps, user, { reservationId: expiring.reservationId }))).toBe('HOLD_EXPIRED');
    const seat2 = (await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).find((s) => s.number === 2);
    expect(seat2?.status).toBe('RESERVED');
  });

  it('a reservation of another concert is WRONG_CONCERT for this token', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const first = await concertWithDates(db.orm, [DATE]);
    const second = await concertWithDates(db.orm, [DATE]);
    const [there] = await admittedHolders(db.orm, clock, first.concertId, 1);
    if (!there) throw new Error('no user');
    const held = await holdSeats(deps, there, { concertId: first.concertId, date: DATE, seatNumbers: [1] });
    // the same user, admitted to the second concert too
    const [here] = await admittedHolders(db.orm, clock, second.concertId, 1);
    if (!here) throw new Error('no user');
    await db.orm.em.getConnection().execute(`update queue_token set user_id = ? where id = ?`, [there.userId, here.tokenId]);

    expect(await outcomeOf(cancelReservation(deps, { ...here, userId: there.userId }, { reservationId: held.reservationId }))).toBe(
      'WRONG_CONCERT',
    );
    expect(await reservationStatus(db.orm, held.reservationId)).toBe('HELD');
  });
});
