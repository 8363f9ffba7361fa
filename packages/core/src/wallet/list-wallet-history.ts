import { z } from 'zod';
import { WalletTransaction, type WalletTransactionType } from '@frontrow/db';
import type { Deps } from '../deps.ts';

export const listWalletHistoryInput = z.object({
  userId: z.uuid(),
  limit: z.number().int().min(1).max(100).default(20),
});

export type ListWalletHistoryInput = z.input<typeof listWalletHistoryInput>;
export type WalletHistoryEntry = {
  id: string;
  type: WalletTransactionType;
  amount: number;
  balanceAfter: number;
  /** An operator's reason for an ADJUSTMENT; null otherwise. */
  reason: string | null;
  createdAt: string;
};

/** The user's ledger, newest first; empty for a user who never charged. */
export async function listWalletHistory(deps: Pick<Deps, 'em'>, raw: ListWalletHistoryInput): Promise<WalletHistoryEntry[]> {
  const input = listWalletHistoryInput.parse(raw);
  // rows of one wallet are written under its lock, so id order is the order the balance moved in
  const entries = await deps.em
    .fork()
    .find(WalletTransaction, { wallet: { userId: input.userId } }, { orderBy: { id: 'desc' }, limit: input.limit });
  return entries.map((entry) => ({
    id: entry.id,
    type: entry.type,
    amount: entry.amount,
    balanceAfter: entry.balanceAfter,
    reason: entry.reason ?? null,
    createdAt: entry.createdAt.toISOString(),
  }));
}
