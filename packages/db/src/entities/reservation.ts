import { defineEntity, p } from '@mikro-orm/core';
import { Concert } from './concert.ts';
import { Schedule } from './schedule.ts';

export const RESERVATION_STATUSES = ['HELD', 'CONFIRMED', 'EXPIRED', 'CANCELLED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** An all-or-nothing hold of 1…4 seats of one schedule, confirmed by a payment or lapsing at `expiresAt`. */
export const ReservationSchema = defineEntity({
  name: 'Reservation',
  tableName: 'reservation',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    userId: p.uuid(),
    concert: () => p.manyToOne(Concert),
    schedule: () => p.manyToOne(Schedule),
    seatNumbers: p.array().$type<number[]>().columnType('int[]'),
    totalPrice: p.integer(),
    status: p.string().length(16).$type<ReservationStatus>().default('HELD'),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
    version: p.integer().version(),
  },
  // named as the migrations build them (entity-schema.int.test.ts); partial-index predicates live there
  indexes: [
    { name: 'reservation_user_concert_live_until', properties: ['userId', 'concert', 'expiresAt'] },
    { name: 'reservation_held_expires_at', properties: ['expiresAt'] },
  ],
});

/** Whether a reservation is a live hold at a time is booking's rule: `isLiveHold` in packages/core/src/booking/hold-rules.ts. */
export class Reservation extends ReservationSchema.class {}
ReservationSchema.setClass(Reservation);
