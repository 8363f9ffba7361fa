import { z } from 'zod';
import { CheckConstraintViolationException, OptimisticLockError, UniqueConstraintViolationException } from '@mikro-orm/core';
import { Seat } from '@frontrow/db';
import { SEATS_PER_SCHEDULE } from '../concert/create-concert.ts';
import { DomainError } from '../errors.ts';
import { wellFormedText } from '../text.ts';

/** At most this many seats held by one user in one concert, across its dates (and so in one hold). */
export const MAX_SEATS_PER_USER = 4;

/** A reservation id on the wire: the decimal of a bigint key, small enough that PostgreSQL never rejects it. */
export const reservationIdSchema = wellFormedText.regex(/^[1-9][0-9]{0,17}$/, 'expected a reservation id (a decimal number)');

/** The seats of one hold: 1…4 distinct numbers of the 50 of a performance. */
export const seatNumbersSchema = z
  .array(z.number().int().min(1).max(SEATS_PER_SCHEDULE))
  .min(1)
  .max(MAX_SEATS_PER_USER)
  .refine((numbers) => new Set(numbers).size === numbers.length, 'seat numbers must be distinct');

/** HOLD_LIMIT_EXCEEDED when the user's live held seats in the concert plus the new ones pass the limit. */
export function assertWithinHoldLimit(liveHeldSeats: number, requested: number): void {
  if (liveHeldSeats + requested > MAX_SEATS_PER_USER) {
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
