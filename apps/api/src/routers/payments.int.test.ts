import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TRPCError } from '@trpc/server';
import { chargeWallet, createConcert, inTransaction } from '@frontrow/core';
import { Concert, QueueToken } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { callerContext, type InnerContext } from '../context.ts';
import { reasonOf } from '../errors.ts';
import { appRouter } from '../router.ts';
import { buildServer } from '../server.ts';
import { createCallerFactory } from '../trpc.ts';
import { signIn, testInnerContext } from '../testing.ts';

// on sale whatever day the tests run
const DATE = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
const PRICE = 40_000;

let db: TestDatabase;
let inner: InnerContext;
let app: FastifyInstance;
let concertId: string;
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm);
  app = await buildServer({ orm: db.orm, inner });
  concertId = (await createConcert(inner, { title: 'Pay', venue: 'Hall', dates: [DATE], price: PRICE })).concertId;
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

let nextTicket = 1;
let nextSeat = 1;

type Holder = { userId: string; tokenId: string; headers: { authorization: string; queueToken: string } };

/** An admitted user: an ACTIVE token of the concert, signed, written through the entity. */
async function admittedUser(): Promise<Holder> {
  const user = await signIn();
  const userId = user.userId;
  const ticket = nextTicket++;
  const tokenId = await inTransaction(db.orm.em, async (em) => {
    const now = new Date();
    const concert = em.getReference(Concert, concertId);
    const token = em.create(QueueToken, {
      concert,
      userId,
      ticket,
      status: 'ACTIVE',
      activatedAt: now,
      activeUntil: new Date(now.getTime() + 600_000),
    });
    await em.flush();
    return token.id;
  });
  const token = await inner.tokens.sign({ tokenId, userId, concertId, ticket });
  return { userId, tokenId, headers: { authorization: user.authorization, queueToken: token } };
}

/** A HELD reservation of the next free seat, held through `reservations.hold` with the holder's token. */
async function holdNextSeat(holder: Holder): Promise<string> {
  const caller = createCaller(callerContext(inner, holder.headers));
  return (await caller.reservations.hold({ concertId, date: DATE, seatNumbers: [nextSeat++] })).reservationId;
}

async function outcomeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'OK';
  } catch (error) {
    if (error instanceof TRPCError) return `${error.code}/${reasonOf(error)}`;
    throw error;
  }
}

describe('payments router', () => {
  it('over HTTP: pays with the queue token, 200 with { paymentId, reservationId, amount, balance, paidAt }', async () => {
    const holder = await admittedUser();
    const reservationId = await holdNextSeat(holder);
    await chargeWallet(inner, { userId: holder.userId, amount: PRICE + 500 });
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/payments.pay',
      headers: { authorization: holder.headers.authorization, 'x-queue-token': holder.headers.queueToken },
      payload: { reservationId, idempotencyKey: 'http-pay' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().result.data).toEqual({
      paymentId: expect.stringMatching(/^\d+$/),
      reservationId,
      amount: PRICE,
      balance: 500,
      paidAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
    });
  });

  it('over HTTP: INSUFFICIENT_BALANCE is 402 Payment Required with its reason', async () => {
    const holder = await admittedUser();
    const reservationId = await holdNextSeat(holder);
    await chargeWallet(inner, { userId: holder.userId, amount: PRICE - 1 });
    const response = await app.inject({
      method: 'POST',
      url: '/trpc/payments.pay',
      headers: { authorization: holder.headers.authorization, 'x-queue-token': holder.headers.queueToken },
      payload: { reservationId },
    });
    expect(response.statusCode).toBe(402);
    expect(response.json().error.data).toMatchObject({
      code: 'PAYMENT_REQUIRED',
      httpStatus: 402,
      path: 'payments.pay',
      reason: 'INSUFFICIENT_BALANCE',
    });
  });

  it("a replay with the same key answers the same payment after it COMPLETED the token; the user's other hold was released with it", async () => {
    const holder = await admittedUser();
    const paid = await holdNextSeat(holder);
    const other = await holdNextSeat(holder);
    await chargeWallet(inner, { userId: holder.userId, amount: 3 * PRICE });
    const caller = createCaller(callerContext(inner, holder.headers));
    const first = await caller.payments.pay({ reservationId: paid, idempotencyKey: 'once' });
    expect(await caller.payments.pay({ reservationId: paid, idempotencyKey: 'once' })).toEqual(first);
    expect(await outcomeOf(() => caller.payments.pay({ reservationId: other }))).toBe('CONFLICT/RESERVATION_NOT_PAYABLE');
    expect(await outcomeOf(() => caller.payments.pay({ reservationId: other, idempotencyKey: 'once' }))).toBe(
      'CONFLICT/IDEMPOTENCY_KEY_REUSED',
    );
    expect(await outcomeOf(() => caller.payments.pay({ reservationId: paid, idempotencyKey: 'again' }))).toBe(
      'CONFLICT/RESERVATION_NOT_PAYABLE',
    );
    expect(await caller.wallet.balance()).toEqual({ userId: holder.userId, balance: 2 * PRICE });
  });

  it('needs a queue token, and rejects a bad reservationId or idempotencyKey as VALIDATION', async () => {
    const holder0 = await signIn();
    expect(
      await outcomeOf(() =>
        createCaller(callerContext(inner, { authorization: holder0.authorization })).payments.pay({ reservationId: '1' }),
      ),
    ).toBe('UNAUTHORIZED/TOKEN_MISSING');
    const holder = await admittedUser();
    const caller = createCaller(callerContext(inner, holder.headers));
    const bad: unknown[] = [
      {},
      { reservationId: 12 },
      { reservationId: 'abc' },
      { reservationId: '-1' },
      { reservationId: '0' },
      { reservationId: '1'.repeat(30) },
      { reservationId: '1', idempotencyKey: '' },
      { reservationId: '1', idempotencyKey: 'k'.repeat(201) },
    ];
    for (const input of bad) {
      expect(await outcomeOf(() => caller.payments.pay(input as { reservationId: string })), JSON.stringify(input)).toBe(
        'BAD_REQUEST/VALIDATION',
      );
    }
    expect(await outcomeOf(() => caller.payments.pay({ reservationId: '999999999' }))).toBe('NOT_FOUND/RESERVATION_NOT_FOUND');
  });

  it('a signed token the database does not hold is TOKEN_INVALID before anything else, also before VALIDATION', async () => {
    const holder = await admittedUser();
    const reservationId = await holdNextSeat(holder);
    const unknownId = await inner.tokens.sign({ tokenId: '999999999', userId: holder.userId, concertId, ticket: 1 });
    // the token's row is real, but not with the place in line this token was signed with
    const [row] = await db.orm.em
      .fork()
      .execute<{ id: string; ticket: string }[]>(`select id, ticket from queue_token where user_id = ?`, [holder.userId]);
    const otherTicket = await inner.tokens.sign({
      tokenId: String(row?.id),
      userId: holder.userId,
      concertId,
      ticket: Number(row?.ticket) + 1,
    });
    for (const token of [unknownId, otherTicket]) {
      const caller = createCaller(callerContext(inner, { authorization: holder.headers.authorization, queueToken: token }));
      expect(await outcomeOf(() => caller.payments.pay({ reservationId }))).toBe('UNAUTHORIZED/TOKEN_INVALID');
      expect(await outcomeOf(() => caller.payments.pay({ reservationId: 'abc' }))).toBe('UNAUTHORIZED/TOKEN_INVALID');
    }
    const [reservation] = await db.orm.em
      .fork()
      .execute<{ status: string }[]>(`select status from reservation where id = ?`, [reservationId]);
    expect(reservation?.status).toBe('HELD');
  });
});
