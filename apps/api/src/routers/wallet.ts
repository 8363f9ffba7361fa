import { z } from 'zod';
import { chargeWallet, chargeWalletInput, listWalletHistory, listWalletHistoryInput, readBalance, readBalanceInput } from '@frontrow/core';
import { publicProcedure, router } from '../trpc.ts';

const walletCharge = z.object({ userId: z.string(), balance: z.number(), transactionId: z.string() });
const walletBalance = z.object({ userId: z.string(), balance: z.number() });
const walletHistoryEntry = z.object({
  id: z.string(),
  type: z.enum(['CHARGE', 'PAYMENT', 'REFUND']),
  amount: z.number(),
  balanceAfter: z.number(),
  createdAt: z.string(),
});

export const walletRouter = router({
  balance: publicProcedure
    .input(readBalanceInput)
    .output(walletBalance)
    .query(({ ctx, input }) => readBalance(ctx, input)),
  charge: publicProcedure
    .input(chargeWalletInput)
    .output(walletCharge)
    .mutation(({ ctx, input }) => chargeWallet(ctx, input)),
  history: publicProcedure
    .input(listWalletHistoryInput)
    .output(z.array(walletHistoryEntry))
    .query(({ ctx, input }) => listWalletHistory(ctx, input)),
});
