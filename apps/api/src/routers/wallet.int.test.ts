import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TRPCError } from '@trpc/server';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { callerContext, type InnerContext } from '../context.ts';
import { reasonOf } from '../errors.ts';
import { appRouter } from '../router.ts';
import { buildServer } from '../server.ts';
import { createCallerFactory } from '../trpc.ts';
import { testInnerContext } from '../testing.ts';

let db: TestDatabase;
let inner: InnerContext;
let app: FastifyInstance;
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm);
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
  it('charges, reads the balance and lists the history of a user, with the wire shapes of API.md', async () => {
    const caller = createCaller(callerContext(inner));
    const userId = crypto.randomUUID();
    expect(await caller.wallet.balance({ userId })).toEqual({ userId, balance: 0 });
    const charge = await caller.wallet.charge({ userId, amount: 30_000, idempotencyKey: 'first' });
    expect(charge).toEqual({ userId, balance: 30_000, transactionId: expect.stringMatching(/^\d+$/) });
    expect(await caller.wallet.charge({ userId, amount: 30_000, idempotencyKey: 'first' })).toEqual(charge);
    expect(await caller.wallet.balance({ userId })).toEqual({ userId, balance: 30_000 });
    const history = await caller.wallet.history({ userId });
    expect(history).toEqual([
      { id: charge.transactionId, type: 'CHARGE', amount: 30_000, balanceAfter: 30_000, createdAt: expect.any(String) },
    ]);
    expect(await validationOf(() => caller.wallet.charge({ userId, amount: 1, idempotencyKey: 'first' }))).toBe(
      'CONFLICT/IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('rejects zero, negative, fractional, too large and non-numeric amounts and a non-UUID user as VALIDATION', async () => {
    const caller = createCaller(callerContext(inner));
    const userId = crypto.randomUUID();
    const bad: unknown[] = [0, -1, 1.5, 1_000_001, '1000', null, undefined, Number.POSITIVE_INFINITY];
    for (const amount of bad) {
      const input = { userId, amount } as { userId: string; amount: number };
      expect(await validationOf(() => caller.wallet.charge(input)), `amount ${String(amount)}`).toBe('BAD_REQUEST/VALIDATION');
    }
    expect(await validationOf(() => caller.wallet.charge({ userId: 'not-a-uuid', amount: 1_000 }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await validationOf(() => caller.wallet.charge({ userId, amount: 1_000, idempotencyKey: '' }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await validationOf(() => caller.wallet.charge({ userId, amount: 1_000, idempotencyKey: 'k'.repeat(201) }))).toBe(
      'BAD_REQUEST/VALIDATION',
    );
    expect(await validationOf(() => caller.wallet.balance({ userId: 'not-a-uuid' }))).toBe('BAD_REQUEST/VALIDATION');
    expect(await validationOf(() => caller.wallet.history({ userId: '12345' }))).toBe('BAD_REQUEST/VALIDATION');
    for (const limit of [0, 101, 1.5]) {
      expect(await validationOf(() => caller.wallet.history({ userId, limit })), `limit ${limit}`).toBe('BAD_REQUEST/VALIDATION');
    }
    // the edges of the range are fine, and nothing was charged by the rejected calls
    expect(await caller.wallet.charge({ userId, amount: 1 })).toMatchObject({ balance: 1 });
    expect(await caller.wallet.charge({ userId, amount: 1_000_000 })).toMatchObject({ balance: 1_000_001 });
  });

  it('over HTTP: a bad amount is 400 with reason VALIDATION and the zod issues; a charge is 200 with the result', async () => {
    const userId = crypto.randomUUID();
    const bad = await app.inject({ method: 'POST', url: '/trpc/wallet.charge', payload: { userId, amount: -5 } });
    expect(bad.statusCode).toBe(400);
    const error = bad.json().error;
    expect(error.data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, path: 'wallet.charge', reason: 'VALIDATION' });
    expect(error.data.issues).toEqual([expect.objectContaining({ path: ['amount'] })]);

    const ok = await app.inject({ method: 'POST', url: '/trpc/wallet.charge', payload: { userId, amount: 5_000 } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().result.data).toMatchObject({ userId, balance: 5_000 });
    const balance = await app.inject({
      method: 'GET',
      url: `/trpc/wallet.balance?input=${encodeURIComponent(JSON.stringify({ userId }))}`,
    });
    expect(balance.json().result.data).toEqual({ userId, balance: 5_000 });
  });
});
