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
    idempotencyKey: p.string().nullable(),
    paidAt: p.datetime(),
  },
});

export class Payment extends PaymentSchema.class {}
PaymentSchema.setClass(Payment);
