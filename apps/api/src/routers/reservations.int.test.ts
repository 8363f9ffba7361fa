import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createConcert } from '@frontrow/core';
import { ticketSequenceName } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import type { InnerContext } from '../context.ts';
import { buildServer } from '../server.ts';
import { signIn, testInnerContext } from '../testing.ts';

const DATE = '2030-12-24';
const PRICE = 60_000;

let db: TestDatabase;
let inner: InnerContext;
let app: FastifyInstance;
let concertId: string;
let otherConcertId: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm);
  app = await buildServer({ orm: db.orm, inner });
  concertId = (await createConcert(inner, { title: 'Book', venue: 'Hall', dates: [DATE, '2030-12-25'], price: PRICE })).concertId;
  otherConcertId = (await createConcert(inner, { title: 'Other', venue: 'Hall', dates: [DATE] })).concertId;
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

type TokenState = { status?: 'ACTIVE' | 'WAITING' | 'EXPIRED'; activeUntil?: Date | null; concert?: string };

/** A user with a token written straight into the table (admission is the queue's work), signed: ACTIVE for 10 minutes unless told. */
async function userWithToken(status: TokenState['status'] = 'ACTIVE', state: Omit<TokenState, 'status'> = {}): Promise<string> {
  const concert = state.concert ?? concertId;
  const user = await signIn();
  const userId = user.userId;
  identities.set(userId, user.authorization);
  const activeUntil = state.activeUntil !== undefined ? state.activeUntil : status === 'ACTIVE' ? new Date(Date.now() + 600_000) : null;
  const [row] = await db.orm.em.getConnection().execute<{ id: string; ticket: string }[]>(
    `insert into queue_token (concert_id, user_id, ticket, status, activated_at, active_until)
     values (?, ?, nextval('${ticketSequenceName(concert)}'), ?, ?, ?) returning id, ticket`,
    [concert, userId, status, activeUntil && new Date(), activeUntil],
  );
  if (!row) throw new Error('no token');
  return `Bearer ${await inner.tokens.sign({ tokenId: String(row.id), userId, concertId: concert, ticket: Number(row.ticket) })}`;
}

type Answer = { status: number; data: unknown; reason: string | undefined; issues: unknown[] | undefined };

/** The identity token of each test user, by user id: `call` signs in as the owner of the queue token it sends. */
const identities = new Map<string, string>();

/**
 * Calls as the owner of `bearer` (`Bearer <queue token>`): the owner's identity in `Authorization`, the
 * queue token in `X-Queue-Token`. A token whose claims name nobody known is sent with a stranger's identity.
 */
async function call(kind: 'query' | 'mutation', path: string, input: unknown, bearer?: string): Promise<Answer> {
  const queueToken = bearer?.startsWith('Bearer ') ? bearer.slice('Bearer '.length) : bearer;
  const claims = queueToken ? await inner.tokens.verify(queueToken) : null;
  const authorization = (claims && identities.get(claims.userId)) ?? (bearer ? (await signIn()).authorization : undefined);
  const headers: Record<string, string> = {
    ...(authorization ? { authorization } : {}),
    ...(queueToken ? { 'x-queue-token': queueToken } : {}),
  };
  const res =
    kind === 'query'
      ? await app.inject({ method: 'GET', url: `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, headers })
      : await app.inject({
          method: 'POST',
          url: `/trpc/${path}`,
          payload: JSON.stringify(input),
          headers: { ...headers, 'content-type': 'application/json' },
        });
  const body = res.json<{ result?: { data: unknown }; error?: { data: { reason?: string; issues?: unknown[] } } }>();
  return { status: res.statusCode, data: body.result?.data, reason: body.error?.data.reason, issues: body.error?.data.issues };
}

const hold = (input: unknown, bearer: string) => call('mutation', 'reservations.hold', input, bearer);

describe('booking over HTTP', () => {
  it('an admitted user lists dates, reads seats, holds and cancels, in the shapes of API.md', async () => {
    const bearer = await userWithToken();

    const dates = await call('query', 'concerts.availableDates', { concertId }, bearer);
    expect(dates.status).toBe(200);
    expect(dates.data).toEqual([
      { scheduleId: expect.any(String), date: DATE, startsAt: '2030-12-24T10:00:00.000Z', availableSeats: expect.any(Number) },
      { scheduleId: expect.any(String), date: '2030-12-25', startsAt: '2030-12-25T10:00:00.000Z', availableSeats: 50 },
    ]);

    const held = await hold({ concertId, date: '2030-12-25', seatNumbers: [12, 11] }, bearer);
    expect(held.status).toBe(200);
    expect(held.data).toEqual({
      reservationId: expect.stringMatching(/^\d+$/),
      date: '2030-12-25',
      seatNumbers: [11, 12],
      totalPrice: 2 * PRICE,
      status: 'HELD',
      expiresAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    const { reservationId } = held.data as { reservationId: string };

    const seats = await call('query', 'concerts.seats', { concertId, date: '2030-12-25' }, bearer);
    expect(seats.status).toBe(200);
    const map = seats.data as { scheduleId: string; date: string; seats: { number: number; price: number; status: string }[] };
    expect(map.date).toBe('2030-12-25');
    expect(map.seats).toHaveLength(50);
    expect(map.seats.filter((s) => s.status === 'HELD')).toEqual([
      { number: 11, price: PRICE, status: 'HELD' },
      { number: 12, price: PRICE, status: 'HELD' },
    ]);

    const cancelled = await call('mutation', 'reservations.cancel', { reservationId }, bearer);
    expect(cancelled).toMatchObject({ status: 200, data: { reservationId, status: 'CANCELLED' } });
    const after = await call('query', 'concerts.seats', { concertId, date: '2030-12-25' }, bearer);
    expect((after.data as typeof map).seats.every((s) => s.status === 'AVAILABLE')).toBe(true);
  });

  it('rejects seat 0, seat 51, duplicates, 5 seats, no seats, non-integers and a malformed date: 400 VALIDATION with the issues', async () => {
    const bearer = await userWithToken();
    const bad = [
      { concertId, date: DATE, seatNumbers: [0] },
      { concertId, date: DATE, seatNumbers: [51] },
      { concertId, date: DATE, seatNumbers: [3, 3] },
      { concertId, date: DATE, seatNumbers: [1, 2, 3, 4, 5] },
      { concertId, date: DATE, seatNumbers: [] },
      { concertId, date: DATE, seatNumbers: [1.5] },
      { concertId, date: '2030-13-01', seatNumbers: [1] },
      { concertId, date: '24-12-2030', seatNumbers: [1] },
      { concertId: 'abc', date: DATE, seatNumbers: [1] },
      { concertId: '1'.repeat(30), date: DATE, seatNumbers: [1] },
    ];
    for (const input of bad) {
      const answer = await hold(input, bearer);
      expect({ input, status: answer.status, reason: answer.reason }).toEqual({ input, status: 400, reason: 'VALIDATION' });
      expect(answer.issues?.length, JSON.stringify(input)).toBeGreaterThan(0);
    }
    const seats = await call('query', 'concerts.seats', { concertId, date: '2030-02-30' }, bearer);
    expect([seats.status, seats.reason]).toEqual([400, 'VALIDATION']);
    const cancel = await call('mutation', 'reservations.cancel', { reservationId: 'x1' }, bearer);
    expect([cancel.status, cancel.reason]).toEqual([400, 'VALIDATION']);
    // nothing was held by any of it
    const dates = (await call('query', 'concerts.availableDates', { concertId }, bearer)).data as { availableSeats: number }[];
    expect(dates.every((d) => d.availableSeats === 50)).toBe(true);
  });

  it('an unknown date is 404 SCHEDULE_NOT_FOUND; another concert is 403 WRONG_CONCERT', async () => {
    const bearer = await userWithToken();
    expect(await hold({ concertId, date: '2030-12-31', seatNumbers: [1] }, bearer)).toMatchObject({
      status: 404,
      reason: 'SCHEDULE_NOT_FOUND',
    });
    expect(await call('query', 'concerts.seats', { concertId, date: '2030-12-31' }, bearer)).toMatchObject({
      status: 404,
      reason: 'SCHEDULE_NOT_FOUND',
    });
    for (const answer of [
      await call('query', 'concerts.availableDates', { concertId: otherConcertId }, bearer),
      await call('query', 'concerts.seats', { concertId: otherConcertId, date: DATE }, bearer),
      await hold({ concertId: otherConcertId, date: DATE, seatNumbers: [1] }, bearer),
    ]) {
      expect(answer).toMatchObject({ status: 403, reason: 'WRONG_CONCERT' });
    }
  });

  it('a taken seat is 409 SEAT_UNAVAILABLE; a fifth seat is 409 HOLD_LIMIT_EXCEEDED; another user’s reservation is 404', async () => {
    const first = await userWithToken();
    const second = await userWithToken();
    const held = await hold({ concertId, date: DATE, seatNumbers: [40, 41, 42] }, first);
    expect(held.status).toBe(200);
    expect(await hold({ concertId, date: DATE, seatNumbers: [39, 40] }, second)).toMatchObject({ status: 409, reason: 'SEAT_UNAVAILABLE' });
    expect(await hold({ concertId, date: DATE, seatNumbers: [43, 44] }, first)).toMatchObject({
      status: 409,
      reason: 'HOLD_LIMIT_EXCEEDED',
    });

    const { reservationId } = held.data as { reservationId: string };
    expect(await call('mutation', 'reservations.cancel', { reservationId }, second)).toMatchObject({
      status: 404,
      reason: 'RESERVATION_NOT_FOUND',
    });
    expect(await call('mutation', 'reservations.cancel', { reservationId: '99999999' }, first)).toMatchObject({
      status: 404,
      reason: 'RESERVATION_NOT_FOUND',
    });
  });

  it('a hold of a taken seat answers the token first: TOKEN_*, QUEUE_NOT_ADMITTED, WRONG_CONCERT, then the hold limit, then SEAT_UNAVAILABLE', async () => {
    const owner = await userWithToken();
    expect((await hold({ concertId, date: DATE, seatNumbers: [30] }, owner)).status).toBe(200);
    const full = await userWithToken();
    expect((await hold({ concertId, date: '2030-12-25', seatNumbers: [31, 32, 33, 34] }, full)).status).toBe(200);
    const active = await userWithToken();
    const claims = await inner.tokens.verify(active.slice('Bearer '.length));
    if (!claims) throw new Error('no claims');

    const callers: [caller: string | undefined, reason: string][] = [
      ['abc', 'TOKEN_INVALID'],
      [`${active.slice(0, -2)}xx`, 'TOKEN_INVALID'],
      [`Bearer ${await inner.tokens.sign({ ...claims, tokenId: '999999999' })}`, 'TOKEN_INVALID'],
      // signed for someone else: not the caller's, whoever it belongs to
      [`Bearer ${await inner.tokens.sign({ ...claims, userId: crypto.randomUUID() })}`, 'TOKEN_NOT_YOURS'],
      [await userWithToken('WAITING'), 'QUEUE_NOT_ADMITTED'],
      [await userWithToken('ACTIVE', { activeUntil: new Date(Date.now() - 1000) }), 'TOKEN_EXPIRED'],
      [await userWithToken('EXPIRED'), 'TOKEN_EXPIRED'],
      [await userWithToken('ACTIVE', { concert: otherConcertId }), 'WRONG_CONCERT'],
      [full, 'HOLD_LIMIT_EXCEEDED'],
      [active, 'SEAT_UNAVAILABLE'],
    ];
    for (const [caller, reason] of callers) {
      const answer = await call('mutation', 'reservations.hold', { concertId, date: DATE, seatNumbers: [29, 30] }, caller);
      expect({ caller, reason: answer.reason }).toEqual({ caller, reason });
      // the input is checked after the token, and before the concert: a caller the guard lets through gets VALIDATION
      const invalid = await call('mutation', 'reservations.hold', { concertId, date: DATE, seatNumbers: [0, 30] }, caller);
      const guarded = ['WRONG_CONCERT', 'HOLD_LIMIT_EXCEEDED', 'SEAT_UNAVAILABLE'].includes(reason) ? 'VALIDATION' : reason;
      expect({ caller, reason: invalid.reason }).toEqual({ caller, reason: guarded });
    }
  });

  it('a hold of a taken seat is refused in one round trip to the database', async () => {
    const owner = await userWithToken();
    expect((await hold({ concertId, date: DATE, seatNumbers: [25] }, owner)).status).toBe(200);
    const stormer = await userWithToken();
    // the stormer's first call with the ACTIVE token claims the slot (the arrival: one write, once)
    expect((await hold({ concertId, date: DATE, seatNumbers: [25] }, stormer)).status).toBe(409);
    const pool = await db.orm.em.getConnection().getNativeClient();
    let checkouts = 0;
    const count = () => checkouts++;
    pool.on('acquire', count);
    try {
      expect(await hold({ concertId, date: DATE, seatNumbers: [24, 25] }, stormer)).toMatchObject({
        status: 409,
        reason: 'SEAT_UNAVAILABLE',
      });
    } finally {
      pool.off('acquire', count);
    }
    expect(checkouts).toBe(1);
  });

  it('dates, seats, hold and cancel need a signed-in user and an ACTIVE token: AUTH_MISSING, TOKEN_MISSING, QUEUE_NOT_ADMITTED', async () => {
    const signedIn = { authorization: (await signIn()).authorization };
    const waiting = await userWithToken('WAITING');
    const calls: [kind: 'query' | 'mutation', path: string, input: unknown][] = [
      ['query', 'concerts.availableDates', { concertId }],
      ['query', 'concerts.seats', { concertId, date: DATE }],
      ['mutation', 'reservations.hold', { concertId, date: DATE, seatNumbers: [1] }],
      ['mutation', 'reservations.cancel', { reservationId: '1' }],
    ];
    for (const [kind, path, input] of calls) {
      expect(await call(kind, path, input), path).toMatchObject({ status: 401, reason: 'AUTH_MISSING' });
      const url = kind === 'query' ? `/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}` : `/trpc/${path}`;
      const res = await app.inject({
        method: kind === 'query' ? 'GET' : 'POST',
        url,
        headers: { ...signedIn, 'content-type': 'application/json' },
        ...(kind === 'mutation' ? { payload: JSON.stringify(input) } : {}),
      });
      expect([res.statusCode, res.json().error.data.reason], path).toEqual([401, 'TOKEN_MISSING']);
      expect(await call(kind, path, input, waiting), path).toMatchObject({ status: 403, reason: 'QUEUE_NOT_ADMITTED' });
    }
  });
});
