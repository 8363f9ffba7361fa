import { z } from 'zod';
import {
  chargeWallet,
  chargeWalletInput,
  listWalletHistory,
  listWalletHistoryInput,
  readBalance,
  readBalanceInput,
  WALLET_TRANSACTION_TYPES,
} from '@frontrow/core';
import { identifiedProcedure, router } from '../trpc.ts';

const walletCharge = z.object({ userId: z.string(), balance: z.number(), transactionId: z.string() });
const walletBalance = z.object({ userId: z.string(), balance: z.number() });
const walletHistoryEntry = z.object({
  id: z.string(),
  type: z.enum(WALLET_TRANSACTION_TYPES),
  amount: z.number(),
  balanceAfter: z.number(),
  reason: z.string().nullable(),
  createdAt: z.string(),
});

/** Every wallet procedure acts on the signed-in user's own wallet: no input names a user. */
export const walletRouter = router({
  balance: identifiedProcedure
    .input(readBalanceInput.omit({ userId: true }).optional())
    .output(walletBalance)
    .query(({ ctx }) => readBalance(ctx, { userId: ctx.user.userId })),
  charge: identifiedProcedure
    .input(chargeWalletInput.omit({ userId: true }))
    .output(walletCharge)
    .mutation(({ ctx, input }) => chargeWallet(ctx, { ...input, userId: ctx.user.userId })),
  history: identifiedProcedure
    .input(listWalletHistoryInput.omit({ userId: true }).optional())
    .output(z.array(walletHistoryEntry))
    .query(({ ctx, input }) => listWalletHistory(ctx, { ...input, userId: ctx.user.userId })),
});
