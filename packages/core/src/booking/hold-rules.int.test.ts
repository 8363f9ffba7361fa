/**
 * Booking's rules, each run both ways on PostgreSQL: the TypeScript function and the SQL fragment the
 * statements are built from (and the ORM filter, where there is one) must give the same answer on every
 * edge case: exactly at the expiry or the start, one millisecond and one second either side, each status.
 * A rule changed in one form and not the other fails here.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Reservation, type ReservationStatus, SEAT_STATUSES, type SeatStatus } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { concertWithDates } from '../../test/booking-fixtures.ts';
import {
  LAPSED_HOLD_SQL,
  LIVE_HELD_SEATS_SQL,
  LIVE_HOLD_SQL,
  MAX_SEATS_PER_USER,
  SEAT_FREE_SQL,
  SEAT_TAKEN_SQL,
  UPCOMING_SQL,
  WITHIN_HOLD_LIMIT_SQL,
  isLapsedHold,
  isLiveHold,
  isSeatFreeAt,
  isUpcoming,
  isWithinHoldLimit,
  lapsedHoldWhere,
  liveHeldSeats,
  liveHoldWhere,
  seatStatusAt,
} from './hold-rules.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const now = new Date('2030-01-01T00:00:00.000Z');
/** Exactly now, one millisecond and one second before and after. */
const EDGES = [-1000, -1, 0, 1, 1000].map((ms) => new Date(now.getTime() + ms));
const HOLD_STATUSES: ReservationStatus[] = ['HELD', 'CONFIRMED', 'EXPIRED', 'CANCELLED'];

async function select<T>(sql: string, params: unknown[]): Promise<T> {
  const [row] = await db.orm.em.fork().execute<T[]>(sql, params);
  if (row === undefined) throw new Error('no row');
  return row;
}

describe('booking rules: each function and its SQL fragment agree', () => {
  it('a seat is free at a time (seatStatusAt, SEAT_FREE_SQL, SEAT_TAKEN_SQL): each status, around its hold expiry', async () => {
    const seats: { status: SeatStatus; heldUntil: Date | null }[] = [];
    for (const status of SEAT_STATUSES) {
      // a HELD seat always has an expiry (seat_hold_has_expiry); the others have none, or a stale one
      if (status !== 'HELD') seats.push({ status, heldUntil: null });
      for (const heldUntil of EDGES) seats.push({ status, heldUntil });
    }
    for (const seat of seats) {
      const row = await select<{ free: boolean; taken: boolean }>(
        `select ${SEAT_FREE_SQL('s', '?::timestamptz')} as free, ${SEAT_TAKEN_SQL('s', '?::timestamptz')} as taken
           from (select ?::text as status, ?::timestamptz as held_until) s`,
        [now, now, seat.status, seat.heldUntil],
      );
      const free = isSeatFreeAt(seat, now);
      expect({ seat, free: row.free, taken: row.taken }).toEqual({ seat, free, taken: !free });
      expect(seatStatusAt(seat, now)).toBe(free ? 'AVAILABLE' : seat.status);
    }
  });

  it('an upcoming performance (isUpcoming, UPCOMING_SQL): around its start', async () => {
    for (const startsAt of EDGES) {
      const row = await select<{ upcoming: boolean }>(
        `select ${UPCOMING_SQL('d', '?::timestamptz')} as upcoming from (select ?::timestamptz as starts_at) d`,
        [now, startsAt],
      );
      expect({ startsAt, upcoming: row.upcoming }).toEqual({ startsAt, upcoming: isUpcoming({ startsAt }, now) });
    }
  });

  it('the hold limit (isWithinHoldLimit, WITHIN_HOLD_LIMIT_SQL): every held and requested count around the limit', async () => {
    for (let held = 0; held <= MAX_SEATS_PER_USER + 1; held++) {
      for (let requested = 0; requested <= MAX_SEATS_PER_USER + 1; requested++) {
        const row = await select<{ within: boolean }>(`select ${WITHIN_HOLD_LIMIT_SQL('?::int', '?::int')} as within`, [held, requested]);
        expect({ held, requested, within: row.within }).toEqual({ held, requested, within: isWithinHoldLimit(held, requested) });
      }
    }
    expect(isWithinHoldLimit(MAX_SEATS_PER_USER - 1, 1)).toBe(true);
    expect(isWithinHoldLimit(MAX_SEATS_PER_USER, 1)).toBe(false);
  });

  it('a live hold and a lapsed one (isLiveHold, LIVE_HOLD_SQL, liveHoldWhere; the lapsed forms), and the live seats a user holds, on stored reservations', async () => {
    const { concertId, scheduleIds } = await concertWithDates(db.orm, ['2031-01-01']);
    const userId = '00000000-0000-4000-8000-000000000001';
    // each status at each edge, with 1, 2, 3, 1, 2… seats: one user's holds in one concert
    let n = 0;
    for (const status of HOLD_STATUSES) {
      for (const expiresAt of EDGES) {
        n += 1;
        await db.orm.em.fork().execute(
          `insert into reservation (user_id, concert_id, schedule_id, seat_numbers, total_price, status, expires_at, created_at, version)
             values (?, ?, ?, ?::int[], 0, ?, ?, ?, 1)`,
          [
            userId,
            concertId,
            scheduleIds['2031-01-01'],
            `{${Array.from({ length: (n % 3) + 1 }, (_, i) => i + 1).join(',')}}`,
            status,
            expiresAt,
            now,
          ],
        );
      }
    }
    const em = db.orm.em.fork();
    const stored = await em.find(Reservation, { concert: concertId }, { orderBy: { id: 'asc' } });
    expect(stored).toHaveLength(HOLD_STATUSES.length * EDGES.length);
    const sql = await em.execute<{ id: string; live: boolean; lapsed: boolean }[]>(
      `select r.id, ${LIVE_HOLD_SQL('r', '?::timestamptz')} as live, ${LAPSED_HOLD_SQL('r', '?::timestamptz')} as lapsed
         from reservation r where r.concert_id = ? order by r.id`,
      [now, now, concertId],
    );
    const liveByFilter = new Set((await em.find(Reservation, { concert: concertId, ...liveHoldWhere(now) })).map((r) => r.id));
    const lapsedByFilter = new Set((await em.find(Reservation, { concert: concertId, ...lapsedHoldWhere(now) })).map((r) => r.id));
    for (const [i, hold] of stored.entries()) {
      const live = isLiveHold(hold, now);
      const lapsed = isLapsedHold(hold, now);
      const seen = { status: hold.status, expiresAt: hold.expiresAt };
      expect({ seen, live: sql[i]?.live, lapsed: sql[i]?.lapsed }).toEqual({ seen, live, lapsed });
      expect({ seen, live: liveByFilter.has(hold.id), lapsed: lapsedByFilter.has(hold.id) }).toEqual({ seen, live, lapsed });
      expect(live && lapsed).toBe(false);
    }
    const held = await select<{ held: number }>(`select ${LIVE_HELD_SEATS_SQL('?::uuid', '?::bigint', '?::timestamptz')}::int as held`, [
      userId,
      concertId,
      now,
    ]);
    expect(held.held).toBe(liveHeldSeats(stored, now));
    expect(held.held).toBeGreaterThan(0); // the edges after now are live
  });
});
