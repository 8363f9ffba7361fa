import { defineEntity, p } from '@mikro-orm/core';
import { Wallet } from './wallet.ts';

/** CHARGE: the user's own top-up; ADJUSTMENT: an operator's (`frontrow wallet charge`), with a reason. */
export const WALLET_TRANSACTION_TYPES = ['CHARGE', 'PAYMENT', 'REFUND', 'ADJUSTMENT'] as const;
export type WalletTransactionType = (typeof WALLET_TRANSACTION_TYPES)[number];

/** Append-only ledger: every change of a balance, with the balance after it. */
export const WalletTransactionSchema = defineEntity({
  name: 'WalletTransaction',
  tableName: 'wallet_transaction',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    wallet: () => p.manyToOne(Wallet),
    type: p.string().length(16).$type<WalletTransactionType>(),
    amount: p.bigint('number'),
    balanceAfter: p.bigint('number'),
    idempotencyKey: p.string().length(200).nullable(),
    reason: p.string().length(200).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  // named as the migrations build them (entity-schema.int.test.ts); partial-index predicates live there
  indexes: [{ name: 'wallet_transaction_wallet_id', properties: ['wallet', 'id'] }],
  uniques: [{ name: 'wallet_transaction_idempotency_key', properties: ['wallet', 'idempotencyKey'] }],
});

export class WalletTransaction extends WalletTransactionSchema.class {}
WalletTransactionSchema.setClass(WalletTransaction);
