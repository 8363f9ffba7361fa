import { z } from 'zod';
import { payReservation, payReservationInput } from '@frontrow/core';
import { router, ticketProcedure } from '../trpc.ts';

const paymentReceipt = z.object({
  paymentId: z.string(),
  reservationId: z.string(),
  amount: z.number(),
  balance: z.number(),
  paidAt: z.string(),
});

export const paymentsRouter = router({
  // any token status: a replay must still answer after this payment COMPLETED the token; the use case
  // demands an ACTIVE token of the reservation's concert for a new payment
  pay: ticketProcedure
    .input(payReservationInput)
    .output(paymentReceipt)
    .mutation(({ ctx, input }) => payReservation(ctx, { ...input, userId: ctx.ticket.userId, tokenId: ctx.ticket.tokenId })),
});
