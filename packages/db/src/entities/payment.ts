import { defineEntity, p } from '@mikro-orm/core';
import { Reservation } from './reservation.ts';

export const PaymentSchema = defineEntity({
  name: 'Payment',
  tableName: 'payment',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    reservation: () => p.oneToOne(Reservation).owner(),
    userId: p.uuid(),
    amount: p.integer(),
    idempotencyKey: p.string().length(200).nullable(),
    paidAt: p.datetime(),
  },
  // named as the migrations build them (entity-schema.int.test.ts); partial-index predicates live there
  uniques: [{ name: 'payment_user_idempotency_key', properties: ['userId', 'idempotencyKey'] }],
});

export class Payment extends PaymentSchema.class {}
PaymentSchema.setClass(Payment);
