import { z } from 'zod';
import { WalletTransaction, type WalletTransactionType } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { idempotencyKey, replayOnUniqueViolation } from './idempotency.ts';
import { lockOrOpenWallet } from './wallet-lock.ts';
import { wellFormedText } from '../text.ts';

export const MAX_CHARGE = 1_000_000;

export const chargeWalletInput = z.object({
  userId: z.uuid(),
  amount: z.number().int().min(1).max(MAX_CHARGE),
  idempotencyKey: idempotencyKey.optional(),
});

export type ChargeWalletInput = z.input<typeof chargeWalletInput>;

/** An operator's top-up or correction (`frontrow wallet charge`): an ADJUSTMENT row with its reason. */
export const adjustWalletInput = chargeWalletInput.extend({ reason: wellFormedText.min(1).max(200) });
export type AdjustWalletInput = z.input<typeof adjustWalletInput>;
export type WalletCharge = { userId: string; balance: number; transactionId: string };

/**
 * Adds `amount` to the user's wallet (created on first charge) and writes a CHARGE ledger row.
 * With an idempotency key, a replay returns the first result (the balance right after that charge)
 * and moves no money; the same key with another amount is IDEMPOTENCY_KEY_REUSED.
 */
export async function chargeWallet(deps: Deps, raw: ChargeWalletInput): Promise<WalletCharge> {
  return await credit(deps, { ...chargeWalletInput.parse(raw), type: 'CHARGE', reason: null });
}

/** Like `chargeWallet`, written to the ledger as an operator's ADJUSTMENT with `reason`. */
export async function adjustWallet(deps: Deps, raw: AdjustWalletInput): Promise<WalletCharge> {
  return await credit(deps, { ...adjustWalletInput.parse(raw), type: 'ADJUSTMENT' });
}

type Credit = {
  userId: string;
  amount: number;
  idempotencyKey?: string | undefined;
  type: Extract<WalletTransactionType, 'CHARGE' | 'ADJUSTMENT'>;
  reason: string | null;
};

async function credit(deps: Deps, input: Credit): Promise<WalletCharge> {
  return await replayOnUniqueViolation(() =>
    inTransaction(deps.em, async (em) => {
      // the lock comes first, so two first calls with one key run one after the other and the second replays
      const wallet = await lockOrOpenWallet(em, input.userId);
      if (input.idempotencyKey !== undefined) {
        const earlier = await em.findOne(WalletTransaction, { wallet, idempotencyKey: input.idempotencyKey });
        if (earlier) {
          if (earlier.type !== input.type || earlier.amount !== input.amount) {
            throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for a different request');
          }
          return { userId: input.userId, balance: earlier.balanceAfter, transactionId: earlier.id };
        }
      }
      if (wallet.balance + input.amount > deps.settings.walletMaxBalance) {
        throw new DomainError(
          'BALANCE_LIMIT_EXCEEDED',
          `a wallet holds at most ${deps.settings.walletMaxBalance} KRW; this charge would make ${wallet.balance + input.amount}`,
        );
      }
      wallet.credit(input.amount);
      const entry = em.create(WalletTransaction, {
        wallet,
        type: input.type,
        reason: input.reason,
        amount: input.amount,
        balanceAfter: wallet.balance,
        idempotencyKey: input.idempotencyKey ?? null,
        createdAt: deps.clock.now(),
      });
      await em.flush();
      return { userId: input.userId, balance: wallet.balance, transactionId: entry.id };
    }),
  );
}
