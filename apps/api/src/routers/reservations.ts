import { z } from 'zod';
import {
  cancelReservation,
  cancelReservationInput,
  holdSeats,
  holdSeatsInput,
  listMyReservations,
  listMyReservationsInput,
  readHoldPrecheck,
  RESERVATION_STATUSES,
} from '@frontrow/core';
import { admittedProcedure, admittedProcedureReading, identifiedProcedure, router } from '../trpc.ts';

const heldReservation = z.object({
  reservationId: z.string(),
  date: z.string(),
  seatNumbers: z.array(z.number().int()),
  totalPrice: z.number().int(),
  status: z.literal('HELD'),
  expiresAt: z.string(),
});
const myReservation = z.object({
  reservationId: z.string(),
  concertId: z.string(),
  concertTitle: z.string(),
  venue: z.string(),
  date: z.string(),
  seatNumbers: z.array(z.number().int()),
  totalPrice: z.number().int(),
  status: z.enum(RESERVATION_STATUSES),
  expiresAt: z.string().nullable(),
  paidAt: z.string().nullable(),
  paymentId: z.string().nullable(),
  createdAt: z.string(),
});
const cancelledReservation = z.object({ reservationId: z.string(), status: z.literal('CANCELLED') });

export const reservationsRouter = router({
  // the guard reads a taken seat together with the token: a sold-out storm's refusals cost one round trip
  hold: admittedProcedureReading((ctx, raw) => readHoldPrecheck(ctx.em, ctx.claims, raw, ctx.clock.now()))
    .input(holdSeatsInput)
    .output(heldReservation)
    .mutation(({ ctx, input }) => holdSeats(ctx, ctx.ticket, input, { takenSeat: ctx.takenSeat })),
  cancel: admittedProcedure
    .input(cancelReservationInput)
    .output(cancelledReservation)
    .mutation(({ ctx, input }) => cancelReservation(ctx, ctx.ticket, input)),
  // what the signed-in user holds and bought, without a queue token: a buyer needs no place in line for it
  mine: identifiedProcedure
    .input(listMyReservationsInput.omit({ userId: true }).optional())
    .output(z.array(myReservation))
    .query(({ ctx, input }) => listMyReservations(ctx, { ...input, userId: ctx.user.userId })),
});
