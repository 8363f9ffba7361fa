import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { isDomainError } from '../errors.ts';
import { manualClock } from '../clock.ts';
import type { Deps } from '../deps.ts';
import { testDeps } from '../testing.ts';
import { chargeWallet } from './charge-wallet.ts';
import { listWalletHistory } from './list-wallet-history.ts';
import { readBalance } from './read-balance.ts';

let db: TestDatabase;
let deps: Deps;
beforeAll(async () => {
  // 50 concurrent charges on 50 connections of their own
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 52 });
  deps = testDeps(db.orm);
});
afterAll(async () => db?.drop());

type LedgerRow = { type: string; amount: string; balance_after: string; idempotency_key: string | null };

async function ledgerOf(userId: string): Promise<LedgerRow[]> {
  return await db.orm.em
    .getConnection()
    .execute<LedgerRow[]>(
      `select t.type, t.amount, t.balance_after, t.idempotency_key from wallet_transaction t join wallet w on w.id = t.wallet_id where w.user_id = ? order by t.id`,
      [userId],
    );
}

async function walletRows(userId: string): Promise<number> {
  const rows = await db.orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from wallet where user_id = ?`, [userId]);
  return Number(rows[0]?.n);
}

describe('wallet.charge', () => {
  it('50 concurrent charges of 1,000 to one new wallet all land: balance 50,000 and 50 ledger rows', async () => {
    const userId = crypto.randomUUID();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => chargeWallet(deps, { userId, amount: 1_000 })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await readBalance(deps, { userId })).toEqual({ userId, balance: 50_000 });
    const ledger = await ledgerOf(userId);
    expect(ledger).toHaveLength(50);
    // each charge saw the one before it: balances after are 1,000 … 50,000 in ledger order
    expect(ledger.map((row) => Number(row.balance_after))).toEqual(Array.from({ length: 50 }, (_, i) => (i + 1) * 1_000));
    expect(await walletRows(userId)).toBe(1);
  });

  it('creates the wallet on first charge and writes a CHARGE ledger row with the balance after it', async () => {
    const userId = crypto.randomUUID();
    expect(await walletRows(userId)).toBe(0);
    const first = await chargeWallet(deps, { userId, amount: 700 });
    const second = await chargeWallet(deps, { userId, amount: 300 });
    expect(first).toMatchObject({ userId, balance: 700 });
    expect(second).toMatchObject({ userId, balance: 1_000 });
    expect(second.transactionId).not.toBe(first.transactionId);
    expect(await ledgerOf(userId)).toEqual([
      { type: 'CHARGE', amount: '700', balance_after: '700', idempotency_key: null },
      { type: 'CHARGE', amount: '300', balance_after: '1000', idempotency_key: null },
    ]);
  });

  it('a replay with the same idempotency key returns the first result and moves no money', async () => {
    const userId = crypto.randomUUID();
    const first = await chargeWallet(deps, { userId, amount: 5_000, idempotencyKey: 'charge-1' });
    await chargeWallet(deps, { userId, amount: 2_000 });
    const replay = await chargeWallet(deps, { userId, amount: 5_000, idempotencyKey: 'charge-1' });
    // the balance right after the original charge, not the balance now
    expect(replay).toEqual(first);
    expect(replay.balance).toBe(5_000);
    expect((await readBalance(deps, { userId })).balance).toBe(7_000);
    expect(await ledgerOf(userId)).toHaveLength(2);
  });

  it('the same key with a different amount is IDEMPOTENCY_KEY_REUSED and moves no money', async () => {
    const userId = crypto.randomUUID();
    await chargeWallet(deps, { userId, amount: 5_000, idempotencyKey: 'k' });
    const outcome = await chargeWallet(deps, { userId, amount: 6_000, idempotencyKey: 'k' }).catch((error: unknown) => error);
    expect(isDomainError(outcome, 'IDEMPOTENCY_KEY_REUSED')).toBe(true);
    expect((await readBalance(deps, { userId })).balance).toBe(5_000);
    expect(await ledgerOf(userId)).toHaveLength(1);
  });

  it('keys belong to their user: two users may use the same key', async () => {
    const alice = crypto.randomUUID();
    const bob = crypto.randomUUID();
    await chargeWallet(deps, { userId: alice, amount: 100, idempotencyKey: 'shared' });
    await chargeWallet(deps, { userId: bob, amount: 200, idempotencyKey: 'shared' });
    expect((await readBalance(deps, { userId: alice })).balance).toBe(100);
    expect((await readBalance(deps, { userId: bob })).balance).toBe(200);
  });

  it('concurrent first calls with one key charge once, on a new and on an existing wallet', async () => {
    for (const existing of [false, true]) {
      const userId = crypto.randomUUID();
      if (existing) await chargeWallet(deps, { userId, amount: 1 });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => chargeWallet(deps, { userId, amount: 2_500, idempotencyKey: 'once' })),
      );
      const base = existing ? 1 : 0;
      expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
      expect(results.every((r) => r.balance === base + 2_500)).toBe(true);
      expect((await readBalance(deps, { userId })).balance).toBe(base + 2_500);
      expect(await ledgerOf(userId)).toHaveLength(existing ? 2 : 1);
    }
  });

  it('rejects amounts outside integers 1…1,000,000 and a non-UUID user, writing nothing', async () => {
    const userId = crypto.randomUUID();
    for (const amount of [0, -1, 1.5, 1_000_001, Number.NaN, '1000']) {
      const outcome = await chargeWallet(deps, { userId, amount: amount as number }).catch((error: unknown) => error);
      expect(outcome, `amount ${String(amount)}`).toBeInstanceOf(Error);
      expect(outcome).toHaveProperty('name', 'ZodError');
    }
    await expect(chargeWallet(deps, { userId: 'not-a-uuid', amount: 1 })).rejects.toHaveProperty('name', 'ZodError');
    expect(await walletRows(userId)).toBe(0);
    expect(await chargeWallet(deps, { userId, amount: 1_000_000 })).toMatchObject({ balance: 1_000_000 });
  });
});

describe('wallet.balance', () => {
  it('is 0 for a user who never charged, and the read creates no wallet', async () => {
    const userId = crypto.randomUUID();
    expect(await readBalance(deps, { userId })).toEqual({ userId, balance: 0 });
    expect(await walletRows(userId)).toBe(0);
  });
});

describe('wallet.history', () => {
  it('lists ledger rows newest first, 20 by default, up to the limit asked', async () => {
    const userId = crypto.randomUUID();
    const clock = manualClock(new Date('2026-12-01T00:00:00Z'));
    const clocked = testDeps(db.orm, { clock });
    for (let i = 1; i <= 25; i++) {
      await chargeWallet(clocked, { userId, amount: i });
      clock.advance(1_000);
    }
    const page = await listWalletHistory(deps, { userId });
    expect(page).toHaveLength(20);
    expect(page[0]).toMatchObject({ type: 'CHARGE', amount: 25, balanceAfter: 325, createdAt: '2026-12-01T00:00:24.000Z' });
    expect(page.map((entry) => entry.amount)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
    expect(await listWalletHistory(deps, { userId, limit: 3 })).toHaveLength(3);
    expect(await listWalletHistory(deps, { userId, limit: 100 })).toHaveLength(25);
  });

  it('is empty for a user who never charged', async () => {
    expect(await listWalletHistory(deps, { userId: crypto.randomUUID() })).toEqual([]);
  });

  it('rejects a limit outside 1…100', async () => {
    const userId = crypto.randomUUID();
    for (const limit of [0, 101, 2.5]) {
      await expect(listWalletHistory(deps, { userId, limit })).rejects.toHaveProperty('name', 'ZodError');
    }
  });
});
