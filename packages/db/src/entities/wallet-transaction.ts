import { defineEntity, p } from '@mikro-orm/core';
import { Wallet } from './wallet.ts';

export const WALLET_TRANSACTION_TYPES = ['CHARGE', 'PAYMENT', 'REFUND'] as const;
export type WalletTransactionType = (typeof WALLET_TRANSACTION_TYPES)[number];

/** Append-only ledger: every change of a balance, with the balance after it. */
export const WalletTransactionSchema = defineEntity({
  name: 'WalletTransaction',
  tableName: 'wallet_transaction',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    wallet: () => p.manyToOne(Wallet),
    type: p.string().$type<WalletTransactionType>(),
    amount: p.bigint('number'),
    balanceAfter: p.bigint('number'),
    idempotencyKey: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class WalletTransaction extends WalletTransactionSchema.class {}
WalletTransactionSchema.setClass(WalletTransaction);
