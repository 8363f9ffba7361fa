/**
 * Test fixtures of booking tests: concerts made by the real use case, and admitted users whose ACTIVE
 * tokens are written straight into the table (admission is the queue's work, not what these tests prove).
 */
import { type MikroORM, ticketSequenceName } from '@frontrow/db';
import { type Clock, manualClock } from '../src/clock.ts';
import { createConcert } from '../src/concert/create-concert.ts';
import { testDeps } from '../src/testing.ts';
import type { Holder } from '../src/booking/hold-seats.ts';

export type TestConcert = { concertId: string; scheduleIds: Record<string, string> };

/**
 * A concert with these performance dates, created as of 2019-01-01, so that a test may include a
 * performance that has started since (creating one in the past is refused today).
 */
export async function concertWithDates(orm: MikroORM, dates: string[], price = 50_000): Promise<TestConcert> {
  const clock = manualClock(new Date('2019-01-01T00:00:00Z'));
  const created = await createConcert(testDeps(orm, { clock }), { title: 'Booking test', venue: 'Hall', dates, price });
  return { concertId: created.concertId, scheduleIds: Object.fromEntries(created.schedules.map((s) => [s.date, s.scheduleId])) };
}

/** `count` users, each with an ACTIVE token of the concert lapsing `activeSeconds` after the clock's now. */
export async function admittedHolders(
  orm: MikroORM,
  clock: Clock,
  concertId: string,
  count: number,
  activeSeconds = 600,
): Promise<Holder[]> {
  const now = clock.now();
  const rows = await orm.em.getConnection().execute<{ id: string; user_id: string }[]>(
    `insert into queue_token (concert_id, user_id, ticket, status, activated_at, active_until)
     select ?, gen_random_uuid(), nextval('${ticketSequenceName(concertId)}'), 'ACTIVE', ?, ?
       from generate_series(1, ?)
     returning id, user_id`,
    [concertId, now, new Date(now.getTime() + activeSeconds * 1000), count],
  );
  return rows.map((row) => ({ tokenId: String(row.id), userId: row.user_id, concertId }));
}

export type SeatRow = { number: number; status: string; reservation_id: string | null; held_until: Date | null };

/** The seats of a schedule as stored (not as read through `statusAt`). */
export async function storedSeats(orm: MikroORM, scheduleId: string): Promise<SeatRow[]> {
  const rows = await orm.em
    .getConnection()
    .execute<SeatRow[]>(`select number, status, reservation_id, held_until from seat where schedule_id = ? order by number`, [scheduleId]);
  return rows.map((row) => ({
    ...row,
    reservation_id: row.reservation_id === null ? null : String(row.reservation_id),
    held_until: row.held_until === null ? null : new Date(row.held_until),
  }));
}

export async function reservationStatus(orm: MikroORM, reservationId: string): Promise<string | undefined> {
  const rows = await orm.em.getConnection().execute<{ status: string }[]>(`select status from reservation where id = ?`, [reservationId]);
  return rows[0]?.status;
}

/** The reason of a rejected call, or 'OK' for a fulfilled one: how concurrent outcomes are tallied. */
export async function outcomeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (error) {
    return error instanceof Error && 'reason' in error && typeof error.reason === 'string' ? error.reason : `UNEXPECTED ${String(error)}`;
  }
}
