import { defineEntity, p } from '@mikro-orm/core';
import { Reservation } from './reservation.ts';
import { Schedule } from './schedule.ts';

export const SEAT_STATUSES = ['AVAILABLE', 'HELD', 'RESERVED'] as const;
export type SeatStatus = (typeof SEAT_STATUSES)[number];

export const SeatSchema = defineEntity({
  name: 'Seat',
  tableName: 'seat',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    schedule: () => p.manyToOne(Schedule),
    number: p.integer(),
    price: p.integer(),
    status: p.string().length(16).$type<SeatStatus>().default('AVAILABLE'),
    reservation: () => p.manyToOne(Reservation).nullable(),
    heldUntil: p.datetime().nullable(),
    version: p.integer().version(),
  },
  // named as the migrations build them (entity-schema.int.test.ts); partial-index predicates live there
  uniques: [{ name: 'seat_schedule_id_number_unique', properties: ['schedule', 'number'] }],
  indexes: [{ name: 'seat_reservation_id', properties: ['reservation'] }],
});

/**
 * A seat's state changes. Whether a seat is free at a time (a lapsed hold is no hold) is booking's rule,
 * `seatStatusAt` in packages/core/src/booking/hold-rules.ts, beside its SQL form.
 */
export class Seat extends SeatSchema.class {
  /** Held for `reservation` until `until`; the caller has checked that the seat is free (`isSeatFreeAt`), under its lock. */
  holdFor(reservation: Reservation, until: Date): void {
    this.status = 'HELD';
    this.reservation = reservation;
    this.heldUntil = until;
  }

  sellTo(reservation: Reservation): void {
    if (this.status !== 'HELD' || this.reservation?.id !== reservation.id) {
      throw new Error(`seat ${this.number} is not held by reservation ${reservation.id}`);
    }
    this.status = 'RESERVED';
    this.heldUntil = null;
  }

  /** Frees the seat if `reservation` still holds it; a sold seat stays sold (invariant 1). */
  releaseFrom(reservation: Reservation): void {
    if (this.status !== 'HELD' || this.reservation?.id !== reservation.id) return;
    this.status = 'AVAILABLE';
    this.reservation = null;
    this.heldUntil = null;
  }
}
SeatSchema.setClass(Seat);
