import { z } from 'zod';
import { Wallet } from '@frontrow/db';
import type { Deps } from '../deps.ts';

export const readBalanceInput = z.object({ userId: z.uuid() });

export type ReadBalanceInput = z.input<typeof readBalanceInput>;
export type WalletBalance = { userId: string; balance: number };

/** The user's balance; 0 for a user who never charged (a read never creates a wallet). */
export async function readBalance(deps: Pick<Deps, 'em'>, raw: ReadBalanceInput): Promise<WalletBalance> {
  const input = readBalanceInput.parse(raw);
  // one indexed read of one row: it needs no transaction
  const wallet = await deps.em.fork().findOne(Wallet, { userId: input.userId });
  return { userId: input.userId, balance: wallet?.balance ?? 0 };
}
