import { defineEntity, p } from '@mikro-orm/core';

/** A user's prepaid KRW balance; created on first charge. */
export const WalletSchema = defineEntity({
  name: 'Wallet',
  tableName: 'wallet',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    userId: p.uuid().unique(),
    balance: p.bigint('number').default(0),
    version: p.integer().version(),
  },
});

export class Wallet extends WalletSchema.class {
  credit(amount: number): void {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new Error(`invalid credit ${amount}`);
    this.balance += amount;
  }
}
WalletSchema.setClass(Wallet);
