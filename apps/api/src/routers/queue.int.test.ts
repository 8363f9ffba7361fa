import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import {
  admitQueue,
  closeSales,
  createConcert,
  createTokenSigner,
  manualClock,
  noJobs,
  pauseQueue,
  type QueueTicket,
} from '@frontrow/core';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { callerContext, type InnerContext } from '../context.ts';
import { appRouter } from '../router.ts';
import { buildServer } from '../server.ts';
import { createCallerFactory } from '../trpc.ts';
import { type SseEvent, sse } from '../sse.testing.ts';
import { signIn, type TestUser, testInnerContext } from '../testing.ts';

let db: TestDatabase;
let inner: InnerContext;
let app: FastifyInstance;
let baseUrl: string;
/** The API's clock: moved by tests of lapsing tokens, never slept on. */
const clock = manualClock();
const secret = 'queue-router-test-secret-of-32-characters';
const createCaller = createCallerFactory(appRouter);

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 30 });
  inner = testInnerContext(db.orm, { clock, tokens: createTokenSigner(secret) });
  app = await buildServer({ orm: db.orm, inner });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const uuid = () => crypto.randomUUID();
const deps = () => ({ em: db.orm.em, clock, jobs: noJobs, settings: inner.settings });

async function concert(options: { maxActive?: number; activeTtlSeconds?: number } = {}): Promise<string> {
  return (await createConcert(deps(), { title: 'Q', venue: 'V', dates: ['2099-06-01'], ...options })).concertId;
}

type Reply = { status: number; body: { result?: { data: unknown }; error?: { data: { reason?: string; httpStatus: number } } } };

/** Who entered with each queue token: `bearer` sends the owner's identity with it. */
const owners = new Map<string, TestUser>();

async function enter(concertId: string, user?: TestUser): Promise<QueueTicket> {
  const owner = user ?? (await signIn());
  const res = await app.inject({
    method: 'POST',
    url: '/trpc/queue.enter',
    headers: { authorization: owner.authorization },
    payload: { concertId },
  });
  expect(res.statusCode).toBe(200);
  const ticket = (res.json() as { result: { data: QueueTicket } }).result.data;
  owners.set(ticket.token, owner);
  return ticket;
}

type Headers = Record<string, string>;

async function get(path: string, input: unknown, headers: Headers = {}): Promise<Reply> {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  const res = await app.inject({ method: 'GET', url: `/trpc/${path}${query}`, headers });
  return { status: res.statusCode, body: res.json() };
}

/** `queue.leave` has no input: a client POSTs JSON with no body. */
async function leave(headers: Headers = {}) {
  return await app.inject({ method: 'POST', url: '/trpc/queue.leave', headers: { 'content-type': 'application/json', ...headers } });
}

const outcome = (reply: Reply) => `${reply.status} ${reply.body.error?.data.reason ?? 'OK'}`;
/** The owner's identity and the queue token, as a client sends them. */
const bearer = (ticket: { token: string }): Headers => ({
  authorization: owners.get(ticket.token)?.authorization ?? '',
  'x-queue-token': ticket.token,
});
/** The queue token alone (reading one's place needs no identity). */
const queueTokenOnly = (token: string): Headers => ({ 'x-queue-token': token });

async function admitted(concertId: string): Promise<QueueTicket> {
  const ticket = await enter(concertId);
  await admitQueue(deps(), { concertId });
  return ticket;
}

describe('queue.enter over HTTP', () => {
  it('gives a WAITING ticket with its place in line, in the wire shape of API.md', async () => {
    const concertId = await concert();
    const user = await signIn('auth0|5f7c8ec7c33c6c004bbafe82');
    const ticket = await enter(concertId, user);
    const userId = user.userId;
    expect(ticket).toEqual({
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      userId,
      concertId,
      status: 'WAITING',
      position: 1,
      estimatedWaitSeconds: expect.any(Number),
      activeUntil: null,
      paused: false,
      soldOut: false,
      expiredReason: null,
      salesOpenAt: null,
    });
  });

  it('a closed sale answers 409 SALES_CLOSED to new entries, and the waiting see EXPIRED with expiredReason SALES_CLOSED', async () => {
    const concertId = await concert({ maxActive: 1 });
    await admitted(concertId);
    const waiting = await enter(concertId);
    await closeSales(deps(), { concertId });
    const res = await app.inject({
      method: 'POST',
      url: '/trpc/queue.enter',
      headers: { authorization: (await signIn()).authorization },
      payload: { concertId },
    });
    expect([res.statusCode, res.json().error.data.reason]).toEqual([409, 'SALES_CLOSED']);
    const read = await get('queue.status', undefined, queueTokenOnly(waiting.token));
    expect(read.body.result?.data).toMatchObject({ status: 'EXPIRED', expiredReason: 'SALES_CLOSED', paused: false });
  });

  it('a sale with an opening time answers PRE_QUEUE over HTTP, with the opening and no place', async () => {
    const { concertId } = await createConcert(deps(), {
      title: 'Q',
      venue: 'V',
      dates: ['2099-06-01'],
      salesOpenAt: '2099-01-01T10:00:00Z',
    });
    const ticket = await enter(concertId);
    expect(ticket).toMatchObject({
      status: 'PRE_QUEUE',
      position: null,
      estimatedWaitSeconds: null,
      salesOpenAt: '2099-01-01T10:00:00.000Z',
    });
    const read = await get('queue.status', undefined, queueTokenOnly(ticket.token));
    expect(read.body.result?.data).toMatchObject({ status: 'PRE_QUEUE', salesOpenAt: '2099-01-01T10:00:00.000Z' });
  });

  it('a paused line reads WAITING with paused: true and no estimate over HTTP', async () => {
    const concertId = await concert({ maxActive: 1 });
    await admitted(concertId);
    const waiting = await enter(concertId);
    await pauseQueue(deps(), { concertId });
    const read = await get('queue.status', undefined, queueTokenOnly(waiting.token));
    expect(read.body.result?.data).toMatchObject({ status: 'WAITING', paused: true, estimatedWaitSeconds: null, soldOut: false });
  });

  it('answers 20 parallel calls of one user with one token and one place', async () => {
    const concertId = await concert();
    await enter(concertId);
    const user = await signIn();
    const answers = await Promise.all(Array.from({ length: 20 }, () => enter(concertId, user)));
    expect(new Set(answers.map((a) => a.token)).size).toBe(1);
    expect(new Set(answers.map((a) => a.position))).toEqual(new Set([2]));
  });

  it('answers 404 CONCERT_NOT_FOUND for an unknown concert and 400 VALIDATION for bad input', async () => {
    const headers = { authorization: (await signIn()).authorization };
    const unknown = await app.inject({ method: 'POST', url: '/trpc/queue.enter', headers, payload: { concertId: '99999999' } });
    expect([unknown.statusCode, unknown.json().error.data.reason]).toEqual([404, 'CONCERT_NOT_FOUND']);
    for (const payload of [{}, { concertId: 'abc' }, { concertId: '1'.repeat(30) }, { concertId: 7 }]) {
      const res = await app.inject({ method: 'POST', url: '/trpc/queue.enter', headers, payload });
      expect([res.statusCode, res.json().error.data.reason]).toEqual([400, 'VALIDATION']);
    }
  });

  it('needs a signed-in user (AUTH_MISSING, AUTH_INVALID), and enters the signed-in one whatever userId the body names', async () => {
    const concertId = await concert();
    const anonymous = await app.inject({ method: 'POST', url: '/trpc/queue.enter', payload: { concertId } });
    expect([anonymous.statusCode, anonymous.json().error.data.reason]).toEqual([401, 'AUTH_MISSING']);
    const forged = await signIn('mallory', 'not-the-secret-of-this-api-0123456789abcdef');
    for (const authorization of [forged.authorization, 'Bearer abc', `Basic ${forged.authorization.slice(7)}`]) {
      const res = await app.inject({ method: 'POST', url: '/trpc/queue.enter', headers: { authorization }, payload: { concertId } });
      expect([res.statusCode, res.json().error.data.reason], authorization).toEqual([401, 'AUTH_INVALID']);
    }
    // the victim's live token is never handed to a stranger who names the victim's id
    const victim = await signIn();
    const victimTicket = await enter(concertId, victim);
    const stranger = await signIn();
    const res = await app.inject({
      method: 'POST',
      url: '/trpc/queue.enter',
      headers: { authorization: stranger.authorization },
      payload: { concertId, userId: victim.userId },
    });
    const strangerTicket = (res.json() as { result: { data: QueueTicket } }).result.data;
    expect(strangerTicket).toMatchObject({ userId: stranger.userId, position: 2 });
    expect(strangerTicket.token).not.toBe(victimTicket.token);
  });
});

describe('queue.status and queue.leave', () => {
  it('polls the ticket with the bearer token, and answers final statuses too', async () => {
    const concertId = await concert();
    await enter(concertId);
    const ticket = await enter(concertId);
    const polled = await get('queue.status', undefined, queueTokenOnly(ticket.token));
    expect([polled.status, polled.body.result?.data]).toEqual([200, ticket]);

    // leaving needs the owner's identity: the queue token alone, or with another user's identity, is not enough
    expect((await leave(queueTokenOnly(ticket.token))).json().error.data.reason).toBe('AUTH_MISSING');
    const stranger = await signIn();
    const strangers = await leave({ authorization: stranger.authorization, 'x-queue-token': ticket.token });
    expect([strangers.statusCode, strangers.json().error.data.reason]).toEqual([403, 'TOKEN_NOT_YOURS']);
    expect((await get('queue.status', undefined, queueTokenOnly(ticket.token))).body.result?.data).toEqual(ticket);

    const left = await leave(bearer(ticket));
    expect(left.statusCode).toBe(200);
    expect(left.json().result.data).toEqual({ ...ticket, status: 'CANCELLED', position: null, estimatedWaitSeconds: null });
    const after = await get('queue.status', undefined, queueTokenOnly(ticket.token));
    expect(after).toMatchObject({ status: 200, body: { result: { data: { status: 'CANCELLED' } } } });
  });

  it('shows the admission: ACTIVE with activeUntil, no position', async () => {
    const concertId = await concert({ activeTtlSeconds: 120 });
    const ticket = await admitted(concertId);
    const polled = await get('queue.status', undefined, queueTokenOnly(ticket.token));
    expect(polled.body.result?.data).toEqual({
      ...ticket,
      status: 'ACTIVE',
      position: null,
      estimatedWaitSeconds: null,
      activeUntil: new Date(clock.now().getTime() + 120_000).toISOString(),
    });
  });
});

describe('the guard, over HTTP', () => {
  it('answers 401 TOKEN_MISSING without a queue token, and AUTH_MISSING first where an identity is needed too', async () => {
    const concertId = await concert();
    const signedIn = { authorization: (await signIn()).authorization };
    expect(outcome(await get('queue.status', undefined))).toBe('401 TOKEN_MISSING');
    expect(outcome(await get('concerts.availableDates', { concertId }))).toBe('401 AUTH_MISSING');
    expect(outcome(await get('concerts.availableDates', { concertId }, signedIn))).toBe('401 TOKEN_MISSING');
    const left = await leave();
    expect([left.statusCode, left.json().error.data.reason]).toEqual([401, 'AUTH_MISSING']);
    const signedInLeft = await leave(signedIn);
    expect([signedInLeft.statusCode, signedInLeft.json().error.data.reason]).toEqual([401, 'TOKEN_MISSING']);
  });

  it("answers 403 TOKEN_NOT_YOURS for another user's queue token, after the identity check and before any state", async () => {
    const concertId = await concert();
    const ticket = await admitted(concertId);
    const stranger = { authorization: (await signIn()).authorization, 'x-queue-token': ticket.token };
    expect(outcome(await get('concerts.availableDates', { concertId }, stranger))).toBe('403 TOKEN_NOT_YOURS');
    expect(outcome(await get('concerts.seats', { concertId, date: '2099-06-01' }, stranger))).toBe('403 TOKEN_NOT_YOURS');
    expect(outcome(await get('concerts.availableDates', { concertId }, bearer(ticket)))).toBe('200 OK');
  });

  it('answers 401 TOKEN_INVALID for a forged, altered, malformed or unknown token, or a header that is not Bearer', async () => {
    const concertId = await concert();
    const ticket = await admitted(concertId);
    const claims = await inner.tokens.verify(ticket.token);
    if (!claims) throw new Error('unverifiable token');
    const forged = await createTokenSigner('some-other-secret-of-at-least-32-chars').sign(claims);
    const [header, , signature] = ticket.token.split('.');
    const altered = `${header}.${Buffer.from(JSON.stringify({ tid: claims.tokenId, cid: claims.concertId, tkt: 1, sub: uuid() })).toString('base64url')}.${signature}`;
    const unknown = await inner.tokens.sign({ ...claims, tokenId: '987654321' });
    const otherUser = await inner.tokens.sign({ ...claims, userId: uuid() }); // a real id, claims that do not match it

    const owner = { authorization: owners.get(ticket.token)?.authorization ?? '' };
    for (const token of [forged, altered, 'abc', unknown, `Bearer ${ticket.token}`]) {
      const headers = { ...owner, 'x-queue-token': token };
      expect(outcome(await get('queue.status', undefined, queueTokenOnly(token))), token).toBe('401 TOKEN_INVALID');
      expect(outcome(await get('concerts.availableDates', { concertId }, headers)), token).toBe('401 TOKEN_INVALID');
    }
    // signed claims that do not match the row: nobody's token (and not the caller's either)
    expect(outcome(await get('queue.status', undefined, queueTokenOnly(otherUser)))).toBe('401 TOKEN_INVALID');
    expect(outcome(await get('concerts.availableDates', { concertId }, { ...owner, 'x-queue-token': otherUser }))).toBe(
      '403 TOKEN_NOT_YOURS',
    );
  });

  it('rejects a forged token without a database query, and answers a genuine one with a single read', async () => {
    const concertId = await concert();
    const ticket = await enter(concertId);
    const claims = await inner.tokens.verify(ticket.token);
    if (!claims) throw new Error('unverifiable token');
    const forged = await createTokenSigner('some-other-secret-of-at-least-32-chars').sign(claims);
    const queries: string[] = [];
    // an EntityManager that counts the connections asked of it (and of its forks)
    const counting: typeof db.orm.em = Object.create(db.orm.em, {
      fork: { value: () => counting },
      getConnection: {
        value: () => {
          queries.push('query');
          return db.orm.em.getConnection();
        },
      },
    });
    const statusWith = (token: string) => createCaller(callerContext({ ...inner, em: counting }, { queueToken: token })).queue.status();
    await expect(statusWith(forged)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(queries).toEqual([]);
    // the same counter does see the one read of a genuine token
    expect(await statusWith(ticket.token)).toEqual(ticket);
    expect(queries).toEqual(['query']);
  });

  it('answers 401 TOKEN_EXPIRED on admitted procedures for EXPIRED, COMPLETED and CANCELLED tokens', async () => {
    const concertId = await concert({ maxActive: 10 });
    const [expired, completed, cancelled] = [await enter(concertId), await enter(concertId), await enter(concertId)];
    await admitQueue(deps(), { concertId });
    await db.orm.em
      .fork()
      .execute(`update queue_token set status = 'EXPIRED' where id = ?`, [(await inner.tokens.verify(expired.token))?.tokenId]);
    await db.orm.em
      .fork()
      .execute(`update queue_token set status = 'COMPLETED' where id = ?`, [(await inner.tokens.verify(completed.token))?.tokenId]);
    expect((await leave(bearer(cancelled))).statusCode).toBe(200);
    for (const ticket of [expired, completed, cancelled]) {
      expect(outcome(await get('concerts.availableDates', { concertId }, bearer(ticket)))).toBe('401 TOKEN_EXPIRED');
    }
  });

  it('answers 401 TOKEN_EXPIRED for an ACTIVE token past activeUntil, before the admitter has expired it', async () => {
    const concertId = await concert({ activeTtlSeconds: 60 });
    const ticket = await admitted(concertId);
    expect(outcome(await get('concerts.availableDates', { concertId }, bearer(ticket)))).toBe('200 OK');
    clock.advance(60_000);
    try {
      expect(outcome(await get('concerts.availableDates', { concertId }, bearer(ticket)))).toBe('401 TOKEN_EXPIRED');
      const [row] = await db.orm.em
        .fork()
        .execute<{ status: string }[]>(`select status from queue_token where id = ?`, [(await inner.tokens.verify(ticket.token))?.tokenId]);
      expect(row?.status).toBe('ACTIVE'); // the database still says ACTIVE: the guard reads the clock
      expect((await get('queue.status', undefined, queueTokenOnly(ticket.token))).body.result?.data).toMatchObject({ status: 'EXPIRED' });
    } finally {
      clock.advance(-60_000);
    }
  });

  it('answers 403 QUEUE_NOT_ADMITTED for a WAITING token', async () => {
    const concertId = await concert({ maxActive: 1 });
    await admitted(concertId);
    const waiting = await enter(concertId);
    expect(outcome(await get('concerts.availableDates', { concertId }, bearer(waiting)))).toBe('403 QUEUE_NOT_ADMITTED');
  });

  it('answers 403 WRONG_CONCERT for an ACTIVE token used on another concert', async () => {
    const concertId = await concert();
    const other = await concert();
    const ticket = await admitted(concertId);
    expect(outcome(await get('concerts.availableDates', { concertId }, bearer(ticket)))).toBe('200 OK');
    expect(outcome(await get('concerts.availableDates', { concertId: other }, bearer(ticket)))).toBe('403 WRONG_CONCERT');
  });
});

/** The QueueTicket events of a watch, driving the test with `onTicket` after each; ends with the stream. */
async function watch(url: string, headers: Record<string, string>, onTicket: (ticket: QueueTicket) => Promise<'stop' | undefined>) {
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort(), 20_000);
  const seen: (QueueTicket | SseEvent)[] = [];
  try {
    for await (const event of sse(url, headers, stop.signal)) {
      if (event.event === 'connected') continue;
      if (event.event !== 'message') {
        seen.push(event);
        continue;
      }
      const ticket = JSON.parse(event.data) as QueueTicket;
      seen.push(ticket);
      if ((await onTicket(ticket)) === 'stop') break;
    }
  } finally {
    clearTimeout(deadline);
    stop.abort();
  }
  return seen;
}

describe('queue.watch (Server-Sent Events)', () => {
  it('sends the ticket on connect, again on admission, and ends after a final status', async () => {
    const concertId = await concert({ activeTtlSeconds: 300 });
    const ticket = await enter(concertId);
    const seen = await watch(`${baseUrl}/trpc/queue.watch`, queueTokenOnly(ticket.token), async (event) => {
      if (event.status === 'WAITING') await admitQueue(deps(), { concertId });
      if (event.status === 'ACTIVE') await leave(bearer(ticket));
      return undefined;
    });
    expect(seen).toEqual([
      ticket,
      { ...ticket, status: 'ACTIVE', position: null, estimatedWaitSeconds: null, activeUntil: expect.any(String) },
      { ...ticket, status: 'CANCELLED', position: null, estimatedWaitSeconds: null, activeUntil: null },
      { event: 'return', data: '', id: undefined },
    ]);
  });

  it('sends a new ticket when the place in line moves up', async () => {
    const concertId = await concert({ maxActive: 1 });
    await enter(concertId);
    await enter(concertId);
    const third = await enter(concertId);
    const positions: (number | null)[] = [];
    await watch(`${baseUrl}/trpc/queue.watch`, queueTokenOnly(third.token), async (event) => {
      positions.push(event.position);
      if (event.position === 3) await admitQueue(deps(), { concertId });
      return event.position === 2 ? 'stop' : undefined;
    });
    expect(positions).toEqual([3, 2]);
  });

  it('takes the token from connectionParams, for a browser EventSource that cannot send headers', async () => {
    const concertId = await concert();
    const ticket = await enter(concertId);
    const params = encodeURIComponent(JSON.stringify({ queueToken: ticket.token }));
    const seen = await watch(`${baseUrl}/trpc/queue.watch?connectionParams=${params}`, {}, async () => 'stop');
    expect(seen).toEqual([ticket]);
  });

  it('answers the guard reason as an error event: TOKEN_MISSING, TOKEN_INVALID', async () => {
    const forged = await createTokenSigner('some-other-secret-of-at-least-32-chars').sign({
      tokenId: '1',
      userId: uuid(),
      concertId: '1',
      ticket: 1,
    });
    const cases: [string, Record<string, string>, string][] = [
      [`${baseUrl}/trpc/queue.watch`, {}, 'TOKEN_MISSING'],
      [`${baseUrl}/trpc/queue.watch`, queueTokenOnly(forged), 'TOKEN_INVALID'],
      [`${baseUrl}/trpc/queue.watch?connectionParams=${encodeURIComponent(JSON.stringify({ queueToken: forged }))}`, {}, 'TOKEN_INVALID'],
    ];
    for (const [url, headers, reason] of cases) {
      const [error] = await watch(url, headers, async () => 'stop');
      expect(error).toMatchObject({ event: 'serialized-error' });
      expect(JSON.parse((error as SseEvent).data).data).toMatchObject({ httpStatus: 401, reason });
    }
  });
});
