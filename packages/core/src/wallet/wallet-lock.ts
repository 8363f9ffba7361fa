import { type EntityManager, LockMode, Wallet } from '@frontrow/db';

/**
 * The user's wallet, row-locked (`select … for update`) until the unit of work ends, or null if the user
 * never charged. Writers of one wallet queue up on this lock instead of failing their version check, so
 * any number of concurrent charges all land; `inTransaction`'s lock_timeout bounds the wait (then BUSY).
 */
export async function lockWallet(em: EntityManager, userId: string): Promise<Wallet | null> {
  return await em.findOne(Wallet, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** Like `lockWallet`, creating the wallet with a zero balance on first use. */
export async function lockOrOpenWallet(em: EntityManager, userId: string): Promise<Wallet> {
  const existing = await lockWallet(em, userId);
  if (existing) return existing;
  // Concurrent first charges of one user: one insert wins, the others wait for it and then lock its row.
  await em
    .getConnection()
    .execute('insert into wallet (user_id) values (?) on conflict (user_id) do nothing', [userId], 'run', em.getTransactionContext());
  return await em.findOneOrFail(Wallet, { userId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}
