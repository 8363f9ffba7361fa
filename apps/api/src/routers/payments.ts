import { z } from 'zod';
import { payReservation, payReservationInput } from '@frontrow/core';
import { router, signedProcedureReadingInUseCase } from '../trpc.ts';

const paymentReceipt = z.object({
  paymentId: z.string(),
  reservationId: z.string(),
  amount: z.number(),
  balance: z.number(),
  paidAt: z.string(),
});

export const paymentsRouter = router({
  // any token status: a replay must still answer after this payment COMPLETED the token; the use case
  // reads and locks the token with the reservation (one round trip less), and demands an ACTIVE token of
  // the reservation's concert for a new payment
  pay: signedProcedureReadingInUseCase(payReservationInput)
    .input(payReservationInput)
    .output(paymentReceipt)
    .mutation(({ ctx, input }) =>
      payReservation(ctx, { ...input, userId: ctx.claims.userId, tokenId: ctx.claims.tokenId, ticket: ctx.claims.ticket }),
    ),
});
