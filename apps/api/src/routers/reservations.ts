import { z } from 'zod';
import { cancelReservation, cancelReservationInput, holdSeats, holdSeatsInput, readHoldPrecheck } from '@frontrow/core';
import { admittedProcedure, admittedProcedureReading, router } from '../trpc.ts';

const heldReservation = z.object({
  reservationId: z.string(),
  date: z.string(),
  seatNumbers: z.array(z.number().int()),
  totalPrice: z.number().int(),
  status: z.literal('HELD'),
  expiresAt: z.string(),
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
});
