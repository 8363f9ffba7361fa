import { describe, expect, it } from 'vitest';
import {
  CheckConstraintViolationException,
  ForeignKeyConstraintViolationException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { Reservation, Seat } from '@frontrow/db';
import { isDomainError } from '../errors.ts';
import {
  assertWithinHoldLimit,
  holdExpiresAt,
  isSeatFreeAt,
  reservationIdSchema,
  seatConflictAsUnavailable,
  seatNumbersSchema,
  seatStatusAt,
} from './hold-rules.ts';

describe('hold rules', () => {
  it('a user may hold at most 4 seats in a concert: up to the limit passes, past it is HOLD_LIMIT_EXCEEDED', () => {
    expect(() => assertWithinHoldLimit(0, 4)).not.toThrow();
    expect(() => assertWithinHoldLimit(3, 1)).not.toThrow();
    expect(() => assertWithinHoldLimit(3, 2)).toThrow(expect.objectContaining({ reason: 'HOLD_LIMIT_EXCEEDED' }));
    expect(() => assertWithinHoldLimit(0, 5)).toThrow(expect.objectContaining({ reason: 'HOLD_LIMIT_EXCEEDED' }));
    // the refusal says what the user holds and what the limit is
    expect(() => assertWithinHoldLimit(3, 2)).toThrow(/you hold 3 seat\(s\).*2 more.*limit of 4/);
  });

  it('a HELD seat with no expiry (seat_hold_has_expiry forbids one) stays HELD: a missing date never frees a seat', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    for (const heldUntil of [null, undefined]) {
      expect(seatStatusAt({ status: 'HELD', heldUntil }, now)).toBe('HELD');
      expect(isSeatFreeAt({ status: 'HELD', heldUntil }, now)).toBe(false);
    }
  });

  it('a hold lapses HOLD_TTL_SECONDS after it is taken', () => {
    expect(holdExpiresAt(new Date('2030-01-01T00:00:00Z'), 300).toISOString()).toBe('2030-01-01T00:05:00.000Z');
  });

  it('a hold takes 1…4 distinct whole seat numbers of 1…50', () => {
    expect(seatNumbersSchema.safeParse([1, 50, 7, 3]).success).toBe(true);
    for (const bad of [[], [0], [51], [2, 2], [1, 2, 3, 4, 5], [1.5], ['1']]) {
      expect(seatNumbersSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('a reservation id is the decimal of a bigint key, never something PostgreSQL would reject', () => {
    for (const good of ['42', '7', '9'.repeat(18)]) expect(reservationIdSchema.safeParse(good).success, good).toBe(true);
    for (const bad of ['', '0', '-1', '1.5', 'abc', '042', '1'.repeat(19)])
      expect(reservationIdSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('a lost version race on a seat is SEAT_UNAVAILABLE; on anything else it is left for the unit of work to retry', () => {
    const seat = new Seat();
    expect(isDomainError(seatConflictAsUnavailable(OptimisticLockError.lockFailed(seat)), 'SEAT_UNAVAILABLE')).toBe(true);
    const reservationConflict = OptimisticLockError.lockFailed(new Reservation());
    expect(seatConflictAsUnavailable(reservationConflict)).toBe(reservationConflict);
  });

  it('a unique or check violation on the seat table or a seat constraint is SEAT_UNAVAILABLE; on another table it is not', () => {
    const onSeat = new UniqueConstraintViolationException(Object.assign(new Error('duplicate key'), { table: 'seat' }));
    expect(isDomainError(seatConflictAsUnavailable(onSeat), 'SEAT_UNAVAILABLE')).toBe(true);
    // the sold-stays-sold trigger names its constraint but no table
    const soldSeat = new CheckConstraintViolationException(
      Object.assign(new Error('seat is sold'), { constraint: 'seat_sold_stays_sold' }),
    );
    expect(isDomainError(seatConflictAsUnavailable(soldSeat), 'SEAT_UNAVAILABLE')).toBe(true);
    const elsewhere = new UniqueConstraintViolationException(Object.assign(new Error('duplicate key'), { table: 'payment' }));
    expect(seatConflictAsUnavailable(elsewhere)).toBe(elsewhere);
    // a constraint of another table, named or not, is not a seat taken by someone else
    const otherConstraint = new UniqueConstraintViolationException(
      Object.assign(new Error('duplicate key'), { table: 'payment', constraint: 'payment_user_idempotency_key' }),
    );
    expect(seatConflictAsUnavailable(otherConstraint)).toBe(otherConstraint);
    const unnamed = new CheckConstraintViolationException(Object.assign(new Error('check'), { constraint: undefined }));
    expect(seatConflictAsUnavailable(unnamed)).toBe(unnamed);
  });

  it('only a unique or check violation on a seat is a seat taken: another kind of refusal on the seat table is left as it is', () => {
    const foreignKey = new ForeignKeyConstraintViolationException(Object.assign(new Error('no such schedule'), { table: 'seat' }));
    expect(seatConflictAsUnavailable(foreignKey)).toBe(foreignKey);
  });

  it('SEAT_UNAVAILABLE says what to do and keeps the database error as its cause', () => {
    const onSeat = new UniqueConstraintViolationException(Object.assign(new Error('duplicate key'), { table: 'seat' }));
    const answer = seatConflictAsUnavailable(onSeat) as Error;
    expect(answer.message).toMatch(/taken by someone else; pick another/);
    expect(answer.cause).toBe(onSeat);
  });

  it('the wire schemas say what was wrong in words', () => {
    expect(reservationIdSchema.safeParse('x').error?.issues[0]?.message).toMatch(/reservation id/);
    expect(seatNumbersSchema.safeParse([2, 2]).error?.issues[0]?.message).toMatch(/distinct/);
  });
});
