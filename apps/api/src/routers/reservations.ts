import { z } from 'zod';
import { cancelReservation, cancelReservationInput, holdSeats, holdSeatsInput } from '@frontrow/core';
import { admittedProcedure, router } from '../trpc.ts';

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
  hold: admittedProcedure
    .input(holdSeatsInput)
    .output(heldReservation)
    .mutation(({ ctx, input }) => holdSeats(ctx, ctx.ticket, input)),
  cancel: admittedProcedure
    .input(cancelReservationInput)
    .output(cancelledReservation)
    .mutation(({ ctx, input }) => cancelReservation(ctx, ctx.ticket, input)),
});
