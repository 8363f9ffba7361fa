import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TRPCError } from '@trpc/server';
import { testSettings } from '@frontrow/core/testing';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { callerContext, type InnerContext } from '../context.ts';
import { reasonOf } from '../errors.ts';
import { appRouter } from '../router.ts';
import { buildServer } from '../server.ts';
import { createCallerFactory } from '../trpc.ts';
import { signIn, testInnerContext } from '../testing.ts';

let db: TestDatabase;
let inner: InnerContext;
let app: FastifyInstance;
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm, { settings: { ...testSettings, walletMaxBalance: 2_000_000 } });
  app = await buildServer({ orm: db.orm, inner });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

async function validationOf(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}/${reasonOf(error)}`;
    throw error;
  }
  return 'OK';
}

describe('wallet router', () => {
  it("charges, reads the balance and lists the history of the signed-in user's own wallet, with the wire shapes of API.md", async () => {
    const alice = await signIn('alice@example.com');
    const caller = createCaller(callerContext(inner, alice));
    const userId = alice.userId;
    expect(await caller.wallet.balance()).toEqual({ userId, balance: 0 });
    const charge = await caller.wallet.charge({ amount: 30_000, idempotencyKey: 'first' });
    expect(charge).toEqual({ userId, balance: 30_000, transactionId: expect.stringMatching(/^\d+$/) });
    expect(await caller.wallet.charge({ amount: 30_000, idempotencyKey: 'first' })).toEqual(charge);
    expect(await caller.wallet.balance()).toEqual({ userId, balance: 30_000 });
    const history = await caller.wallet.history();
    expect(history).toEqual([
      { id: charge.transactionId, type: 'CHARGE', amount: 30_000, balanceAfter: 30_000, reason: null, createdAt: expect.any(String) },
    ]);
    expect(await validationOf(() => caller.wallet.charge({ amount: 1, idempotencyKey: 'first' }))).toBe('CONFLICT/IDEMPOTENCY_KEY_REUSED');
  });

  it("a userId in the input is not obeyed: a stranger naming the victim's id charges, reads and lists only their own wallet", async () => {
    const victim = await signIn();
    const stranger = await signIn();
    await createCaller(callerContext(inner, victim)).wallet.charge({ amount: 70_000 });
    const caller = createCaller(callerContext(inner, stranger));
    const named = { userId: victim.userId } as Record<string, unknown>;
    expect(await caller.wallet.balance(named as Record<string, never>)).toEqual({ userId: stranger.userId, balance: 0 });
    expect(await caller.wallet.charge({ ...named, amount: 5 } as { amount: number })).toMatchObject({
      userId: stranger.userId,
      balance: 5,
    });
    expect(await caller.wallet.history(named as { limit?: number })).toEqual([expect.objectContaining({ amount: 5 })]);
    expect(await createCaller(callerContext(inner, victim)).wallet.balance()).toEqual({ userId: victim.userId, balance: 70_000 });
  });

  it('needs a signed-in user: AUTH_MISSING without one, AUTH_INVALID for a token not signed with the secret', async () => {
    const forged = await signIn('mallory', 'not-the-secret-of-this-api-0123456789abcdef');
    for (const procedure of ['balance', 'history'] as const) {
      expect(await validationOf(() => createCaller(callerContext(inner)).wallet[procedure]())).toBe('UNAUTHORIZED/AUTH_MISSING');
      expect(await validationOf(() => createCaller(callerContext(inner, forged)).wallet[procedure]())).toBe('UNAUTHORIZED/AUTH_INVALID');
    }
    expect(await validationOf(() => createCaller(callerContext(inner)).wallet.charge({ amount: 1 }))).toBe('UNAUTHORIZED/AUTH_MISSING');
    expect(await validationOf(() => createCaller(callerContext(inner, forged)).wallet.charge({ amount: 1 }))).toBe(
      'UNAUTHORIZED/AUTH_INVALID',
    );
  });

  it('refuses a charge past WALLET_MAX_BALANCE as BALANCE_LIMIT_EXCEEDED and moves no money; up to the ceiling is fine', async () => {
    const user = await signIn();
    const caller = createCaller(callerContext(inner, user));
    await caller.wallet.charge({ amount: 1_000_000 });
    await caller.wallet.charge({ amount: 999_999 });
    expect(await validationOf(() => caller.wallet.charge({ amount: 2 }))).toBe('CONFLICT/BALANCE_LIMIT_EXCEEDED');
    expect(await caller.wallet.balance()).toMatchObject({ balance: 1_999_999 });
    expect(await caller.wallet.history()).toHaveLength(2);
    expect(await caller.wallet.charge({ amount: 1 })).toMatchObject({ balance: 2_000_000 });
    expect(await validationOf(() => caller.wallet.charge({ amount: 1 }))).toBe('CONFLICT/BALANCE_LIMIT_EXCEEDED');
  });

  it('rejects zero, negative, fractional, too large and non-numeric amounts as VALIDATION', async () => {
    const caller = createCaller(callerContext(inner, await signIn()));
    const bad: unknown[] = [0, -1, 1.5, 1_000_001, '1000', null, undefined, Number.POSITIVE_INFINITY];
    for (const amount of bad) {
      const input = { amount } as { amount: number };
      expect(await validationOf(() => caller.wallet.charge(input)), `amount ${String(amount)}`).toBe('BAD_REQUEST/VALIDATION');
    }
    expect(await validationOf(() => caller.wallet.charge({ amount: 1_000, idempotencyKey: '' }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await validationOf(() => caller.wallet.charge({ amount: 1_000, idempotencyKey: 'k'.repeat(201) }))).toBe(
      'BAD_REQUEST/VALIDATION',
    );
    for (const limit of [0, 101, 1.5]) {
      expect(await validationOf(() => caller.wallet.history({ limit })), `limit ${limit}`).toBe('BAD_REQUEST/VALIDATION');
    }
    // the edges of the range are fine, and nothing was charged by the rejected calls
    expect(await caller.wallet.charge({ amount: 1 })).toMatchObject({ balance: 1 });
    expect(await caller.wallet.charge({ amount: 1_000_000 })).toMatchObject({ balance: 1_000_001 });
  });

  it('over HTTP: a bad amount is 400 with reason VALIDATION and the zod issues; a charge is 200 with the result', async () => {
    const user = await signIn();
    const headers = { authorization: user.authorization };
    const bad = await app.inject({ method: 'POST', url: '/trpc/wallet.charge', headers, payload: { amount: -5 } });
    expect(bad.statusCode).toBe(400);
    const error = bad.json().error;
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, path: 'wallet.charge', reason: 'VALIDATION' });
    expect(error.data.issues).toEqual([expect.objectContaining({ path: ['amount'] })]);

    const ok = await app.inject({ method: 'POST', url: '/trpc/wallet.charge', headers, payload: { amount: 5_000 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result.data).toMatchObject({ userId: user.userId, balance: 5_000 });
    const balance = await app.inject({ method: 'GET', url: '/trpc/wallet.balance', headers });
    expect(balance.json().result.data).toEqual({ userId: user.userId, balance: 5_000 });
    const anonymous = await app.inject({ method: 'GET', url: '/trpc/wallet.balance' });
    expect([anonymous.statusCode, anonymous.json().error.data.reason]).toEqual([401, 'AUTH_MISSING']);
  });
});
