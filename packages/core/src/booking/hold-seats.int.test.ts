import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QueueToken, Reservation, Seat } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { testDeps } from '../testing.ts';
import { inTransaction } from '../unit-of-work.ts';
import { admittedHolders, concertWithDates, outcomeOf, reservationStatus, storedSeats } from '../../test/booking-fixtures.ts';
import { seatConflictAsUnavailable } from './hold-rules.ts';
import { holdSeats } from './hold-seats.ts';
import { listAvailableDates } from './list-available-dates.ts';
import { listSeats } from './list-seats.ts';
import { releaseHoldsOf } from './release-holds.ts';

const DATE = '2030-12-24';
const OTHER_DATE = '2030-12-25';

let db: TestDatabase;
beforeAll(async () => {
  // the 100-way race needs connections of its own (each unit of work takes one)
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 50 });
});
afterAll(async () => db?.drop());

describe('holdSeats', () => {
  it('holds the seats all together: one HELD reservation, its seats HELD until its expiry, the total of their prices', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE], 70_000);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');

    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [9, 2, 4] });

    const expiresAt = new Date(clock.now().getTime() + 300_000);
    expect(held).toEqual({
      reservationId: expect.any(String),
      date: DATE,
      seatNumbers: [2, 4, 9],
      totalPrice: 210_000,
      status: 'HELD',
      expiresAt: expiresAt.toISOString(),
    });
    const seats = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    const heldSeats = seats.filter((s) => s.status === 'HELD');
    expect(heldSeats.map((s) => s.number)).toEqual([2, 4, 9]);
    expect(new Set(heldSeats.map((s) => s.reservation_id))).toEqual(new Set([held.reservationId]));
    expect(heldSeats.every((s) => s.held_until?.getTime() === expiresAt.getTime())).toBe(true);
    expect(await reservationStatus(db.orm, held.reservationId)).toBe('HELD');
  });

  it('a hold extends the token to at least the hold expiry, and never shortens it', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [short] = await admittedHolders(db.orm, clock, concert.concertId, 1, 60);
    const [long] = await admittedHolders(db.orm, clock, concert.concertId, 1, 3600);
    if (!short || !long) throw new Error('no users');

    const held = await holdSeats(deps, short, { concertId: concert.concertId, date: DATE, seatNumbers: [1] });
    await holdSeats(deps, long, { concertId: concert.concertId, date: DATE, seatNumbers: [2] });

    const em = db.orm.em.fork();
    expect((await em.findOneOrFail(QueueToken, short.tokenId)).activeUntil?.toISOString()).toBe(held.expiresAt);
    expect((await em.findOneOrFail(QueueToken, long.tokenId)).activeUntil?.getTime()).toBe(clock.now().getTime() + 3_600_000);
  });

  it('100 concurrent holds of one seat on separate connections: exactly one HELD, 99 SEAT_UNAVAILABLE, nothing else', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const users = await admittedHolders(db.orm, clock, concert.concertId, 100);

    const outcomes = await Promise.all(
      users.map((user) => outcomeOf(holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [17] }))),
    );

    expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'SEAT_UNAVAILABLE')).toHaveLength(99);
    const live = await db.orm.em.fork().find(Reservation, { concert: concert.concertId, status: 'HELD' });
    expect(live).toHaveLength(1);
    const seat17 = (await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '')).find((s) => s.number === 17);
    expect(seat17).toMatchObject({ status: 'HELD', reservation_id: live[0]?.id });
  });

  it('overlapping multi-seat holds from many users at once: no seat in two live reservations, and the seats view agrees', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const users = await admittedHolders(db.orm, clock, concert.concertId, 40);
    // every request overlaps others: 1…4 seats out of the first 12, in no particular order
    const requests = users.map((user, i) => ({
      user,
      seats: [...new Set([(i * 7) % 12, (i * 5 + 3) % 12, (i * 11 + 1) % 12].slice(0, 1 + (i % 3)))].map((n) => n + 1).reverse(),
    }));

    const outcomes = await Promise.all(
      requests.map(({ user, seats }) => outcomeOf(holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: seats }))),
    );

    expect(outcomes.filter((o) => o !== 'OK' && o !== 'SEAT_UNAVAILABLE')).toEqual([]);
    const live = await db.orm.em.fork().find(Reservation, { concert: concert.concertId, status: 'HELD' });
    expect(live.length).toBe(outcomes.filter((o) => o === 'OK').length);
    expect(live.length).toBeGreaterThan(1);
    const claimed = live.flatMap((r) => r.seatNumbers);
    expect(new Set(claimed).size).toBe(claimed.length);

    const owners = new Map(live.flatMap((r) => r.seatNumbers.map((n) => [n, r.id] as const)));
    const stored = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    for (const seat of stored) {
      expect(seat.reservation_id, `seat ${seat.number}`).toBe(owners.get(seat.number) ?? null);
      expect(seat.status, `seat ${seat.number}`).toBe(owners.has(seat.number) ? 'HELD' : 'AVAILABLE');
    }
    const [viewer] = users;
    if (!viewer) throw new Error('no users');
    const view = await listSeats(deps, viewer, { concertId: concert.concertId, date: DATE });
    expect(view.seats.filter((s) => s.status === 'HELD').map((s) => s.number)).toEqual([...owners.keys()].sort((a, b) => a - b));
  });

  it('a seat that is HELD (unexpired) or RESERVED is SEAT_UNAVAILABLE, and the whole hold fails with it', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [first, second] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!first || !second) throw new Error('no users');
    const held = await holdSeats(deps, first, { concertId: concert.concertId, date: DATE, seatNumbers: [5, 6] });
    await db.orm.em
      .getConnection()
      .execute(`update seat set status = 'RESERVED', held_until = null where reservation_id = ? and number = 6`, [held.reservationId]);

    for (const seatNumbers of [[5], [6], [4, 5], [6, 7]]) {
      expect(await outcomeOf(holdSeats(deps, second, { concertId: concert.concertId, date: DATE, seatNumbers })), String(seatNumbers)).toBe(
        'SEAT_UNAVAILABLE',
      );
    }
    // all or nothing: the free seats asked for alongside stay free
    const stored = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    expect(stored.filter((s) => s.status !== 'AVAILABLE').map((s) => s.number)).toEqual([5, 6]);
    expect(await db.orm.em.fork().count(Reservation, { userId: second.userId })).toBe(0);
  });

  it('the database’s own seat guards read as SEAT_UNAVAILABLE: a write that would unsell a sold seat, or take a seat number twice', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');
    const held = await holdSeats(deps, user, { concertId: concert.concertId, date: DATE, seatNumbers: [30] });
    await db.orm.em
      .getConnection()
      .execute(`update seat set status = 'RESERVED', held_until = null where reservation_id = ?`, [held.reservationId]);
    const scheduleId = concert.scheduleIds[DATE] ?? '';

    const unsell = inTransaction(db.orm.em, async (em) => {
      const seat = await em.findOneOrFail(Seat, { schedule: scheduleId, number: 30 });
      Object.assign(seat, { status: 'HELD', heldUntil: new Date(clock.now().getTime() + 60_000) });
      await em.flush().catch((error: unknown) => {
        throw seatConflictAsUnavailable(error);
      });
    });
    expect(await outcomeOf(unsell)).toBe('SEAT_UNAVAILABLE');

    const twice = inTransaction(db.orm.em, async (em) => {
      em.create(Seat, { schedule: scheduleId, number: 31, price: 1, status: 'AVAILABLE' });
      await em.flush().catch((error: unknown) => {
        throw seatConflictAsUnavailable(error);
      });
    });
    expect(await outcomeOf(twice)).toBe('SEAT_UNAVAILABLE');
  });

  it('a lapsed hold shows AVAILABLE and is holdable before the worker runs; the stale reservation is EXPIRED and all its seats freed', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [first, second] = await admittedHolders(db.orm, clock, concert.concertId, 2, 3600);
    if (!first || !second) throw new Error('no users');
    const stale = await holdSeats(deps, first, { concertId: concert.concertId, date: DATE, seatNumbers: [10, 11, 12] });

    clock.advance(299_000);
    let view = await listSeats(deps, second, { concertId: concert.concertId, date: DATE });
    expect(view.seats.filter((s) => s.status === 'HELD').map((s) => s.number)).toEqual([10, 11, 12]);
    expect(await outcomeOf(holdSeats(deps, second, { concertId: concert.concertId, date: DATE, seatNumbers: [11] }))).toBe(
      'SEAT_UNAVAILABLE',
    );

    clock.advance(1_000);
    view = await listSeats(deps, second, { concertId: concert.concertId, date: DATE });
    expect(view.seats.every((s) => s.status === 'AVAILABLE')).toBe(true);
    const [date] = await listAvailableDates(deps, second, { concertId: concert.concertId });
    expect(date?.availableSeats).toBe(50);

    const taken = await holdSeats(deps, second, { concertId: concert.concertId, date: DATE, seatNumbers: [11] });
    expect(await reservationStatus(db.orm, stale.reservationId)).toBe('EXPIRED');
    const stored = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    expect(stored.filter((s) => s.number >= 10 && s.number <= 12)).toEqual([
      { number: 10, status: 'AVAILABLE', reservation_id: null, held_until: null },
      { number: 11, status: 'HELD', reservation_id: taken.reservationId, held_until: new Date(taken.expiresAt) },
      { number: 12, status: 'AVAILABLE', reservation_id: null, held_until: null },
    ]);
  });

  it('HOLD_LIMIT_EXCEEDED past 4 live seats per user in a concert, across its dates; lapsed holds do not count', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock, settings: { holdTtlSeconds: 300 } });
    const concert = await concertWithDates(db.orm, [DATE, OTHER_DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1, 3600);
    if (!user) throw new Error('no user');
    const hold = (date: string, seatNumbers: number[]) => holdSeats(deps, user, { concertId: concert.concertId, date, seatNumbers });

    await hold(DATE, [1, 2, 3]);
    expect(await outcomeOf(hold(OTHER_DATE, [1, 2]))).toBe('HOLD_LIMIT_EXCEEDED');
    expect(await outcomeOf(hold(OTHER_DATE, [1]))).toBe('OK');
    expect(await outcomeOf(hold(DATE, [4]))).toBe('HOLD_LIMIT_EXCEEDED');

    clock.advance(300_000);
    expect(await outcomeOf(hold(DATE, [5, 6, 7, 8]))).toBe('OK');
  });

  it('two concurrent holds by one user cannot pass the limit together: one wins, the other is HOLD_LIMIT_EXCEEDED', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE, OTHER_DATE]);
    const users = await admittedHolders(db.orm, clock, concert.concertId, 10);

    for (const user of users) {
      // each hold fits alone (3 and 2 seats); together they would be 5
      const outcomes = await Promise.all([
        outcomeOf(
          holdSeats(deps, user, {
            concertId: concert.concertId,
            date: DATE,
            seatNumbers: [1, 2, 3].map((n) => n + users.indexOf(user) * 4),
          }),
        ),
        outcomeOf(
          holdSeats(deps, user, {
            concertId: concert.concertId,
            date: OTHER_DATE,
            seatNumbers: [1, 2].map((n) => n + users.indexOf(user) * 4),
          }),
        ),
      ]);
      expect(outcomes.sort()).toEqual(['HOLD_LIMIT_EXCEEDED', 'OK']);
    }
  });

  it('SCHEDULE_NOT_FOUND for a date without a performance or one that has started; WRONG_CONCERT for another concert', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE, '2020-06-01']);
    const other = await concertWithDates(db.orm, [DATE]);
    const [user] = await admittedHolders(db.orm, clock, concert.concertId, 1);
    if (!user) throw new Error('no user');

    expect(await outcomeOf(holdSeats(deps, user, { concertId: concert.concertId, date: '2030-12-23', seatNumbers: [1] }))).toBe(
      'SCHEDULE_NOT_FOUND',
    );
    expect(await outcomeOf(holdSeats(deps, user, { concertId: concert.concertId, date: '2020-06-01', seatNumbers: [1] }))).toBe(
      'SCHEDULE_NOT_FOUND',
    );
    expect(await outcomeOf(holdSeats(deps, user, { concertId: other.concertId, date: DATE, seatNumbers: [1] }))).toBe('WRONG_CONCERT');
  });

  it('re-checks the token under its lock: a lapsed token is TOKEN_EXPIRED, a waiting one QUEUE_NOT_ADMITTED', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [lapsing, waiting] = await admittedHolders(db.orm, clock, concert.concertId, 2, 60);
    if (!lapsing || !waiting) throw new Error('no users');
    await db.orm.em
      .getConnection()
      .execute(`update queue_token set status = 'WAITING', active_until = null where id = ?`, [waiting.tokenId]);
    expect(await outcomeOf(holdSeats(deps, waiting, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }))).toBe(
      'QUEUE_NOT_ADMITTED',
    );
    clock.advance(60_000);
    expect(await outcomeOf(holdSeats(deps, lapsing, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }))).toBe('TOKEN_EXPIRED');
  });

  it('a lapsed token asking for a taken seat is TOKEN_EXPIRED, not SEAT_UNAVAILABLE: the read before the lock answers only for an admitted token', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE]);
    const [holder] = await admittedHolders(db.orm, clock, concert.concertId, 1, 600);
    const [lapsing] = await admittedHolders(db.orm, clock, concert.concertId, 1, 60);
    if (!holder || !lapsing) throw new Error('no users');
    await holdSeats(deps, holder, { concertId: concert.concertId, date: DATE, seatNumbers: [1] });
    clock.advance(60_000); // exactly at the lapsing token's activeUntil; seat 1 is held for 240 s more
    expect(await outcomeOf(holdSeats(deps, lapsing, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }))).toBe('TOKEN_EXPIRED');
    expect(await outcomeOf(holdSeats(deps, holder, { concertId: concert.concertId, date: DATE, seatNumbers: [1] }))).toBe(
      'SEAT_UNAVAILABLE',
    );
  });

  it('queue.leave releases the leaver’s holds: reservations CANCELLED, seats AVAILABLE, a sold seat untouched', async () => {
    const clock = manualClock();
    const deps = testDeps(db.orm, { clock });
    const concert = await concertWithDates(db.orm, [DATE, OTHER_DATE]);
    const [leaver, other] = await admittedHolders(db.orm, clock, concert.concertId, 2);
    if (!leaver || !other) throw new Error('no users');
    const a = await holdSeats(deps, leaver, { concertId: concert.concertId, date: DATE, seatNumbers: [1, 2] });
    const b = await holdSeats(deps, leaver, { concertId: concert.concertId, date: OTHER_DATE, seatNumbers: [3] });
    const kept = await holdSeats(deps, other, { concertId: concert.concertId, date: DATE, seatNumbers: [3] });

    const released = await inTransaction(db.orm.em, (em) => releaseHoldsOf(em, leaver.userId, concert.concertId));

    expect(released).toBe(2);
    expect([await reservationStatus(db.orm, a.reservationId), await reservationStatus(db.orm, b.reservationId)]).toEqual([
      'CANCELLED',
      'CANCELLED',
    ]);
    expect(await reservationStatus(db.orm, kept.reservationId)).toBe('HELD');
    const first = await storedSeats(db.orm, concert.scheduleIds[DATE] ?? '');
    expect(first.filter((s) => s.status !== 'AVAILABLE').map((s) => s.number)).toEqual([3]);
    const second = await storedSeats(db.orm, concert.scheduleIds[OTHER_DATE] ?? '');
    expect(second.every((s) => s.status === 'AVAILABLE')).toBe(true);
  });
});
