import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { admittedHolders, concertWithDates } from '../../test/booking-fixtures.ts';
import { cancelReservation } from './cancel-reservation.ts';
import { holdSeats } from './hold-seats.ts';
import { listMyReservations } from './list-my-reservations.ts';

const DATE = '2030-12-24';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

describe('listMyReservations', () => {
  it("lists only the user's reservations, newest first; a HELD one past its expiry reads EXPIRED with no expiresAt", async () => {
    const clock = manualClock(new Date('2026-12-03T10:00:00Z'));
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [owner, other] = await admittedHolders(db.orm, clock, concert.concertId, 2, 3600);
    if (!owner || !other) throw new Error('no users');
    const cancelled = await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [1] });
    await cancelReservation(deps, owner, { reservationId: cancelled.reservationId });
    const held = await holdSeats(deps, owner, { concertId: concert.concertId, date: DATE, seatNumbers: [2, 3] });
    await holdSeats(deps, other, { concertId: concert.concertId, date: DATE, seatNumbers: [4] });

    const mine = await listMyReservations(deps, { userId: owner.userId });
    expect(mine.map((r) => [r.reservationId, r.status, r.expiresAt])).toEqual([
      [held.reservationId, 'HELD', held.expiresAt],
      [cancelled.reservationId, 'CANCELLED', null],
    ]);
    expect(mine[0]).toMatchObject({ concertId: concert.concertId, date: DATE, seatNumbers: [2, 3], paidAt: null, paymentId: null });

    // one second before the expiry still HELD; at it, EXPIRED, before any worker has run
    clock.advance(299_000);
    expect((await listMyReservations(deps, { userId: owner.userId }))[0]?.status).toBe('HELD');
    clock.advance(1_000);
    expect((await listMyReservations(deps, { userId: owner.userId }))[0]).toMatchObject({ status: 'EXPIRED', expiresAt: null });
    expect(await listMyReservations(deps, { userId: crypto.randomUUID(), limit: 5 })).toEqual([]);
  });
});
