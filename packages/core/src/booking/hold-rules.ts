import { z } from 'zod';
import { CheckConstraintViolationException, OptimisticLockError, UniqueConstraintViolationException } from '@mikro-orm/core';
import { type ReservationStatus, Seat, type SeatStatus } from '@frontrow/db';
import { SEATS_PER_SCHEDULE } from '../concert/create-concert.ts';
import { DomainError } from '../errors.ts';
import { decimalIdSchema } from '../text.ts';

/*
 * Booking's rules, each as a TypeScript function and, beside it, the SQL fragment the statements are built
 * from (and, where the ORM queries by it, its filter): one home per rule. hold-rules.int.test.ts runs every
 * function against its fragment and its filter on PostgreSQL, over the edge cases, and fails when they disagree.
 */

/** At most this many seats held by one user in one concert, across its dates (and so in one hold). */
export const MAX_SEATS_PER_USER = 4;

/** A reservation id on the wire: the decimal of a bigint key, small enough that PostgreSQL never rejects it. */
export const reservationIdSchema = decimalIdSchema('expected a reservation id (a decimal number)');

/** The seats of one hold: 1…4 distinct numbers of the 50 of a performance. */
export const seatNumbersSchema = z
  .array(z.number().int().min(1).max(SEATS_PER_SCHEDULE))
  .min(1)
  .max(MAX_SEATS_PER_USER)
  .refine((numbers) => new Set(numbers).size === numbers.length, 'seat numbers must be distinct');

/** A hold's columns, as an entity (`Reservation`) or a row read in SQL has them. */
export type HoldColumns = { status: ReservationStatus; expiresAt: Date | string };

/** A live hold (invariant 2): HELD and not past its expiry at `now`, whether or not the worker has run. */
export function isLiveHold(hold: HoldColumns, now: Date): boolean {
  return hold.status === 'HELD' && new Date(hold.expiresAt) > now;
}

/** `isLiveHold` in SQL, for reservation alias `r` and a timestamptz expression `now`. */
export const LIVE_HOLD_SQL = (r: string, now: string) => `(${r}.status = 'HELD' and ${r}.expires_at > ${now})`;

/** `isLiveHold` as the ORM's filter on `Reservation`. */
export const liveHoldWhere = (now: Date) => ({ status: 'HELD' as const, expiresAt: { $gt: now } });

/** A lapsed hold: HELD, but past its expiry at `now`: no hold any more, its rows not caught up yet. */
export function isLapsedHold(hold: HoldColumns, now: Date): boolean {
  return hold.status === 'HELD' && !isLiveHold(hold, now);
}

/** `isLapsedHold` in SQL, for reservation alias `r` and a timestamptz expression `now`. */
export const LAPSED_HOLD_SQL = (r: string, now: string) => `(${r}.status = 'HELD' and ${r}.expires_at <= ${now})`;

/** `isLapsedHold` as the ORM's filter on `Reservation` (the `reservation_held_expires_at` index's range). */
export const lapsedHoldWhere = (now: Date) => ({ status: 'HELD' as const, expiresAt: { $lte: now } });

/** A seat's columns, as an entity (`Seat`) or a row read in SQL has them. */
export type SeatColumns = { status: SeatStatus; heldUntil: Date | string | null | undefined };

/**
 * What a reader sees of a seat at `now` (invariant 2): a hold past its expiry is no hold, whether or not
 * the worker ran. A HELD seat always has a `heldUntil` (`seat_hold_has_expiry`).
 */
export function seatStatusAt(seat: SeatColumns, now: Date): SeatStatus {
  if (seat.status === 'HELD' && seat.heldUntil != null && new Date(seat.heldUntil) <= now) {
    return 'AVAILABLE';
  }
  return seat.status;
}

/** The seat is free at `now`: AVAILABLE, or HELD by a hold that has lapsed. */
export function isSeatFreeAt(seat: SeatColumns, now: Date): boolean {
  return seatStatusAt(seat, now) === 'AVAILABLE';
}

/** `isSeatFreeAt` in SQL, for seat alias `s` and a timestamptz expression `now`. */
export const SEAT_FREE_SQL = (s: string, now: string) =>
  `(${s}.status = 'AVAILABLE' or (${s}.status = 'HELD' and ${s}.held_until <= ${now}))`;

/** Not `isSeatFreeAt`: RESERVED, or HELD by a live hold. */
export const SEAT_TAKEN_SQL = (s: string, now: string) =>
  `(${s}.status = 'RESERVED' or (${s}.status = 'HELD' and ${s}.held_until > ${now}))`;

// an upcoming performance: its own module, which the queue's rules read without the ORM this file loads
export { isUpcoming, UPCOMING_SQL } from './upcoming.ts';

/** The seats of a user's holds that count against the limit: those of the live ones. */
export function liveHeldSeats(holds: readonly (HoldColumns & { seatNumbers: readonly number[] })[], now: Date): number {
  return holds.reduce((sum, hold) => sum + (isLiveHold(hold, now) ? hold.seatNumbers.length : 0), 0);
}

/** `liveHeldSeats` in SQL: the seats of user `user`'s live holds in concert `concert` at `now` (a scalar subquery). */
export const LIVE_HELD_SEATS_SQL = (user: string, concert: string, now: string) =>
  `(select coalesce(sum(cardinality(r.seat_numbers)), 0) from reservation r
     where r.user_id = ${user} and r.concert_id = ${concert} and ${LIVE_HOLD_SQL('r', now)})`;

/** The hold limit (invariant 7): what the user holds live in the concert plus what they ask for stays within it. */
export function isWithinHoldLimit(liveHeld: number, requested: number): boolean {
  return liveHeld + requested <= MAX_SEATS_PER_USER;
}

/** `isWithinHoldLimit` in SQL, over two integer expressions. */
export const WITHIN_HOLD_LIMIT_SQL = (liveHeld: string, requested: string) => `(${liveHeld} + ${requested} <= ${MAX_SEATS_PER_USER})`;

/** HOLD_LIMIT_EXCEEDED when the user's live held seats in the concert plus the new ones pass the limit. */
export function assertWithinHoldLimit(liveHeldSeats: number, requested: number): void {
  if (!isWithinHoldLimit(liveHeldSeats, requested)) {
    throw new DomainError(
      'HOLD_LIMIT_EXCEEDED',
      `you hold ${liveHeldSeats} seat(s) in this concert; ${requested} more would pass the limit of ${MAX_SEATS_PER_USER}`,
    );
  }
}

export function holdExpiresAt(now: Date, holdTtlSeconds: number): Date {
  return new Date(now.getTime() + holdTtlSeconds * 1000);
}

/**
 * A write on seats that the database refused because someone else changed them first (a version
 * check, the unique seat per schedule and number, the seat owner check or the sold-stays-sold trigger)
 * means another hold or payment won: SEAT_UNAVAILABLE, never a 500 and never a retry. Anything else
 * is returned unchanged, for the unit of work to retry or report.
 */
export function seatConflictAsUnavailable(error: unknown): unknown {
  const onSeat =
    (error instanceof OptimisticLockError && error.getEntity() instanceof Seat) ||
    ((error instanceof UniqueConstraintViolationException || error instanceof CheckConstraintViolationException) &&
      (('table' in error && error.table === 'seat') ||
        ('constraint' in error && typeof error.constraint === 'string' && error.constraint.startsWith('seat_'))));
  return onSeat ? new DomainError('SEAT_UNAVAILABLE', 'a requested seat was taken by someone else; pick another', { cause: error }) : error;
}
