/**
 * Single calls answered by the plain routes (plain-calls.ts) send what tRPC's handler sends, byte for
 * byte, and everything the plain routes are not sure of is tRPC's, as before. Two servers on one
 * database: `fast` (plain routes on) and `reference` (off: every call through tRPC's fetch adapter).
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { closeSales, createConcert } from '@frontrow/core';
import { ticketSequenceName } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import type { InnerContext } from './context.ts';
import { buildServer } from './server.ts';
import { signIn, testInnerContext } from './testing.ts';

// every call of tRPC's handler from this project's routes (the plain routes' fallbacks among them);
// tRPC's own route calls its handler inside its module, which this does not count, so the fetch
// adapter's work is counted too: every WHATWG Request made (the adapter makes one per request)
const handler = vi.hoisted(() => ({ calls: 0, requests: 0 }));
const OriginalRequest = globalThis.Request;
class CountedRequest extends OriginalRequest {
  constructor(...args: ConstructorParameters<typeof Request>) {
    super(...args);
    handler.requests++;
  }
}
vi.mock('@trpc/server/adapters/fastify', async (importOriginal) => {
  const original = await importOriginal<typeof import('@trpc/server/adapters/fastify')>();
  return {
    ...original,
    fastifyRequestHandler: (async (opts) => {
      handler.calls++;
      return original.fastifyRequestHandler(opts);
    }) as typeof original.fastifyRequestHandler,
  };
});

const DATE = '2030-12-24';

let db: TestDatabase;
let inner: InnerContext;
let fast: FastifyInstance;
let reference: FastifyInstance;
/** Each server's request log lines, in order. */
const logs = new Map<FastifyInstance, Record<string, unknown>[]>();

let concertId: string;
let closedConcertId: string;
let user: { authorization: string; userId: string };
let admitted: { authorization: string; queueToken: string };
let waiting: { authorization: string; queueToken: string };

async function server(plainCalls: boolean): Promise<FastifyInstance> {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = await buildServer({ orm: db.orm, inner, plainCalls, logger: { level: 'info', stream } });
  logs.set(app, lines);
  return app;
}

beforeAll(async () => {
  globalThis.Request = CountedRequest;
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm);
  fast = await server(true);
  reference = await server(false);
  concertId = (await createConcert(inner, { title: 'Plain', venue: 'Hall', dates: [DATE], price: 1_000 })).concertId;
  closedConcertId = (await createConcert(inner, { title: 'Closed', venue: 'Hall', dates: [DATE] })).concertId;
  await closeSales(inner, { concertId: closedConcertId });
  user = await signIn();
  admitted = await userWithToken('ACTIVE');
  waiting = await userWithToken('WAITING');
  // seat 1 held by someone else: SEAT_UNAVAILABLE for every other caller
  const other = await userWithToken('ACTIVE');
  const held = await reference.inject(post('reservations.hold', { concertId, date: DATE, seatNumbers: [1] }, headersOf(other)));
  expect(held.statusCode).toBe(200);
  // the first entry and the first charge: their replays (the same answer) are what is compared
  expect((await reference.inject(post('queue.enter', { concertId }, { authorization: user.authorization }))).statusCode).toBe(200);
  const charge = post('wallet.charge', { amount: 500, idempotencyKey: 'plain-calls-1' }, { authorization: user.authorization });
  expect((await reference.inject(charge)).statusCode).toBe(200);
});
beforeEach(() => {
  handler.calls = 0;
});
afterAll(async () => {
  globalThis.Request = OriginalRequest;
  await fast?.close();
  await reference?.close();
  await db?.drop();
});

/** A user with a token written straight into the table, signed (as reservations.int.test.ts does). */
async function userWithToken(status: 'ACTIVE' | 'WAITING'): Promise<{ authorization: string; queueToken: string }> {
  const { authorization, userId } = await signIn();
  const activeUntil = status === 'ACTIVE' ? new Date(Date.now() + 600_000) : null;
  const [row] = await db.orm.em.getConnection().execute<{ id: string; ticket: string }[]>(
    `insert into queue_token (concert_id, user_id, ticket, status, activated_at, active_until)
     values (?, ?, nextval('${ticketSequenceName(concertId)}'), ?, ?, ?) returning id, ticket`,
    [concertId, userId, status, activeUntil && new Date(), activeUntil],
  );
  if (!row) throw new Error('no token');
  const queueToken = await inner.tokens.sign({ tokenId: String(row.id), userId, concertId, ticket: Number(row.ticket) });
  return { authorization, queueToken };
}

function headersOf(who: { authorization: string; queueToken: string }): Record<string, string> {
  return { authorization: who.authorization, 'x-queue-token': who.queueToken };
}

function post(path: string, input: unknown, headers: Record<string, string> = {}): InjectOptions {
  return {
    method: 'POST',
    url: `/trpc/${path}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(input),
  };
}

function get(path: string, input: unknown, headers: Record<string, string> = {}): InjectOptions {
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
  return { method: 'GET', url: `/trpc/${path}${query}`, headers };
}

/**
 * What a client sees, every byte but the date: the status, every header in the order sent, the body's
 * bytes; and what the server logs of the request (its outcome per call, the onError's work).
 */
async function answer(app: FastifyInstance, request: InjectOptions) {
  const res = await app.inject({ ...request, headers: { 'x-request-id': 'plain-calls', ...request.headers } });
  const headers = Object.entries(res.headers).filter(([name]) => name !== 'date');
  const line = logs.get(app)?.at(-1) ?? {};
  return {
    wire: { status: res.statusCode, headers, body: res.rawPayload.toString('latin1') },
    log: { statusCode: line.statusCode, url: line.url, calls: line.calls },
  };
}

/** The reference's answer, then the fast server's, and whether tRPC's fetch adapter made the fast server's. */
async function compare(request: () => InjectOptions) {
  handler.requests = 0;
  const expected = await answer(reference, request());
  const referenceRequests = handler.requests;
  handler.calls = 0;
  handler.requests = 0;
  const actual = await answer(fast, request());
  return { expected, actual, referenceRequests, plain: handler.calls === 0 && handler.requests === 0 };
}

const reason = (body: string) => (JSON.parse(body) as { error?: { data: { reason?: string } } }).error?.data.reason;

describe('single calls on the plain routes', () => {
  it.each<[string, () => InjectOptions, number, string | undefined]>([
    ['queue.enter: the ticket (a replay)', () => post('queue.enter', { concertId }, { authorization: user.authorization }), 200, undefined],
    [
      'queue.enter: an unknown concert',
      () => post('queue.enter', { concertId: '999999999' }, { authorization: user.authorization }),
      404,
      'CONCERT_NOT_FOUND',
    ],
    [
      'queue.enter: a closed sale',
      () => post('queue.enter', { concertId: closedConcertId }, { authorization: user.authorization }),
      409,
      'SALES_CLOSED',
    ],
    ['queue.enter: bad input', () => post('queue.enter', { concertId: 5 }, { authorization: user.authorization }), 400, 'VALIDATION'],
    [
      'queue.enter: no input at all (an empty JSON body)',
      () => ({ ...post('queue.enter', {}, { authorization: user.authorization }), payload: '' }),
      400,
      'VALIDATION',
    ],
    ['queue.enter: no identity', () => post('queue.enter', { concertId }), 401, 'AUTH_MISSING'],
    ['queue.enter: a forged identity', () => post('queue.enter', { concertId }, { authorization: 'Bearer nonsense' }), 401, 'AUTH_INVALID'],
    [
      'queue.enter: a charset in the content type',
      () => post('queue.enter', { concertId }, { authorization: user.authorization, 'content-type': 'Application/JSON; charset=utf-8' }),
      200,
      undefined,
    ],
    [
      'reservations.hold: a taken seat',
      () => post('reservations.hold', { concertId, date: DATE, seatNumbers: [1] }, headersOf(admitted)),
      409,
      'SEAT_UNAVAILABLE',
    ],
    [
      'reservations.hold: bad input',
      () => post('reservations.hold', { concertId, date: DATE, seatNumbers: 'x' }, headersOf(admitted)),
      400,
      'VALIDATION',
    ],
    [
      'reservations.hold: a forged queue token',
      () =>
        post(
          'reservations.hold',
          { concertId, date: DATE, seatNumbers: [2] },
          { authorization: admitted.authorization, 'x-queue-token': 'nonsense' },
        ),
      401,
      'TOKEN_INVALID',
    ],
    [
      'reservations.hold: a WAITING token',
      () => post('reservations.hold', { concertId, date: DATE, seatNumbers: [2] }, headersOf(waiting)),
      403,
      'QUEUE_NOT_ADMITTED',
    ],
    [
      'wallet.charge: a replay',
      () => post('wallet.charge', { amount: 500, idempotencyKey: 'plain-calls-1' }, { authorization: user.authorization }),
      200,
      undefined,
    ],
    ['wallet.charge: bad amount', () => post('wallet.charge', { amount: 0 }, { authorization: user.authorization }), 400, 'VALIDATION'],
    [
      'payments.pay: an unknown reservation',
      () => post('payments.pay', { reservationId: '999999999' }, headersOf(admitted)),
      404,
      'RESERVATION_NOT_FOUND',
    ],
    [
      'queue.leave: a bare POST without an identity',
      () => ({ method: 'POST', url: '/trpc/queue.leave', headers: {} }),
      401,
      'AUTH_MISSING',
    ],
    ['concerts.list: a GET without input', () => get('concerts.list', undefined), 200, undefined],
    ['concerts.seats: a GET with ?input=', () => get('concerts.seats', { concertId, date: DATE }, headersOf(admitted)), 200, undefined],
    ['concerts.seats: bad input', () => get('concerts.seats', { concertId, date: 'soon' }, headersOf(admitted)), 400, 'VALIDATION'],
    ['wallet.balance: no identity', () => get('wallet.balance', undefined), 401, 'AUTH_MISSING'],

    // queue.status: these servers hold no admission state, so even a WAITING token's status is the procedure's
    ['queue.status: an ACTIVE token', () => get('queue.status', undefined, { 'x-queue-token': admitted.queueToken }), 200, undefined],
    ['queue.status: a WAITING token', () => get('queue.status', undefined, { 'x-queue-token': waiting.queueToken }), 200, undefined],
    ['queue.status: no token', () => get('queue.status', undefined), 401, 'TOKEN_MISSING'],
    ['queue.status: a forged token', () => get('queue.status', undefined, { 'x-queue-token': 'nonsense' }), 401, 'TOKEN_INVALID'],
  ])('%s: the bytes tRPC sends, answered without it', async (_, request, status, expectedReason) => {
    const { expected, actual, plain, referenceRequests } = await compare(request);
    expect(referenceRequests).toBe(1);
    expect(expected.wire.status).toBe(status);
    expect(reason(expected.wire.body)).toBe(expectedReason);
    expect(actual.wire).toEqual(expected.wire);
    expect(actual.log).toEqual(expected.log);
    expect(plain).toBe(true);
  });

  it('reservations.hold: a hold, the same bytes but its own id and expiry', async () => {
    const holder = await userWithToken('ACTIVE');
    const request = () => post('reservations.hold', { concertId, date: DATE, seatNumbers: [7, 8] }, headersOf(holder));
    const expected = await answer(reference, request());
    expect(expected.wire.status).toBe(200);
    const { reservationId } = JSON.parse(expected.wire.body).result.data;
    const cancelled = await reference.inject(post('reservations.cancel', { reservationId }, headersOf(holder)));
    expect(cancelled.statusCode).toBe(200);
    handler.calls = 0;
    handler.requests = 0;
    const actual = await answer(fast, request());
    expect([handler.calls, handler.requests]).toEqual([0, 0]);
    // the two holds differ in their id and expiry (and so in the body's length): those masked, the rest is equal
    const mask = (wire: typeof expected.wire) => {
      const data = JSON.parse(wire.body).result.data;
      return {
        ...wire,
        headers: wire.headers.filter(([name]) => name !== 'content-length'),
        body: wire.body.replace(data.reservationId, '<id>').replace(data.expiresAt, '<expiry>'),
      };
    };
    expect(mask(actual.wire)).toEqual(mask(expected.wire));
    expect(actual.log).toEqual(expected.log);
  });

  it('counts a plain call under tRPC’s route in /metrics', async () => {
    await fast.inject(post('queue.enter', { concertId }, { authorization: user.authorization }));
    const metrics = (await fast.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/frontrow_http_requests_total\{method="POST",route="\/trpc\/:path",status="200"\}/);
    expect(metrics).not.toContain('route="/trpc/queue.enter"');
    expect(metrics).toMatch(/frontrow_trpc_calls_total\{procedure="queue.enter",status="200",reason=""\}/);
  });
});

describe('what the plain routes leave to tRPC', () => {
  const enter = () => post('queue.enter', { concertId }, { authorization: user.authorization });
  it.each<[string, () => InjectOptions]>([
    ['a batch of one', () => ({ ...enter(), url: '/trpc/queue.enter?batch=1', payload: JSON.stringify({ 0: { concertId } }) })],
    ['a batch of two', () => ({ ...enter(), url: '/trpc/queue.enter,wallet.balance?batch=1', payload: '{}' })],
    ['any other query parameter', () => ({ ...enter(), url: '/trpc/queue.enter?x=1' })],
    ['connectionParams', () => ({ ...enter(), url: `/trpc/queue.enter?connectionParams=${encodeURIComponent('{"a":"b"}')}` })],
    ['an unknown procedure', () => post('queue.nope', {}, { authorization: user.authorization })],
    ['a GET of a mutation', () => get('queue.enter', { concertId }, { authorization: user.authorization })],
    ['a POST of a query', () => post('concerts.list', {})],
    ['a HEAD', () => ({ method: 'HEAD', url: '/trpc/queue.enter' })],
    ['a HEAD of a query', () => ({ method: 'HEAD', url: '/trpc/concerts.list' })],
    ['an OPTIONS', () => ({ method: 'OPTIONS', url: '/trpc/queue.enter' })],
    ['a text body', () => ({ ...enter(), headers: { authorization: user.authorization, 'content-type': 'text/plain' } })],
    ['malformed JSON', () => ({ ...enter(), payload: '{"concertId":' })],
    ['malformed JSON without an identity', () => ({ ...enter(), headers: { 'content-type': 'application/json' }, payload: '{' })],
    ['a streaming accept header', () => ({ ...enter(), headers: { ...enter().headers, 'trpc-accept': 'application/jsonl' } })],
    ['an encoded path', () => ({ ...enter(), url: '/trpc/queue%2Eenter' })],
    ['a query with a batch', () => ({ ...get('concerts.list', undefined), url: '/trpc/concerts.list?batch=1&input=%7B%7D' })],
    ['a query with malformed ?input=', () => ({ ...get('concerts.list', undefined), url: '/trpc/concerts.list?input=%7B' })],
    ['a query with a non-JSON content type', () => get('concerts.list', undefined, { 'content-type': 'text/plain' })],
    ['a subscription batched', () => ({ method: 'GET', url: '/trpc/queue.watch?batch=1', headers: headersOf(waiting) })],
  ])('%s: answered by tRPC, as without the plain routes', async (_, request) => {
    const { expected, actual, plain, referenceRequests } = await compare(request);
    expect(actual.wire).toEqual(expected.wire);
    expect(actual.log).toEqual(expected.log);
    // tRPC's adapter did the same work for both
    expect(handler.requests).toBe(referenceRequests);
    expect(plain).toBe(false);
  });

  it('a mutation that falls back runs once, there and not also here: a charge without a key, through both ways', async () => {
    const { authorization } = await signIn();
    const balance = async () =>
      (
        JSON.parse((await fast.inject(get('wallet.balance', undefined, { authorization }))).body) as {
          result: { data: { balance: number } };
        }
      ).result.data.balance;
    const charge = (url: string) => ({ ...post('wallet.charge', { amount: 700 }, { authorization }), url });
    handler.calls = 0;
    // a query string sends the call to tRPC, before the procedure; a plain one runs here
    expect((await fast.inject(charge('/trpc/wallet.charge?x=1'))).statusCode).toBe(200);
    expect(handler.calls).toBe(1);
    expect(await balance()).toBe(700);
    expect((await fast.inject(charge('/trpc/wallet.charge'))).statusCode).toBe(200);
    expect(handler.calls).toBe(1);
    expect(await balance()).toBe(1_400);
  });

  it("a fragment in the request line (kept by Node, dropped by tRPC's URL parser): tRPC reads the input, as before", async () => {
    // inject drops fragments: a raw socket to each server, listening for this test only
    const raw = async (app: FastifyInstance) => {
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = new URL(address);
      const text = await new Promise<string>((resolve, reject) => {
        let received = '';
        const socket = connect(Number(port), '127.0.0.1', () =>
          socket.write(
            `GET /trpc/concerts.seats?input=%22a#b%22 HTTP/1.1\r\nHost: x\r\nx-request-id: plain-calls\r\nauthorization: ${admitted.authorization}\r\nx-queue-token: ${admitted.queueToken}\r\nConnection: close\r\n\r\n`,
          ),
        );
        socket.on('data', (chunk) => {
          received += chunk.toString('latin1');
        });
        socket.on('end', () => resolve(received));
        socket.on('error', reject);
      });
      await new Promise((resolve) => app.server.close(resolve));
      return text.replace(/^date: .*\r\n/im, '');
    };
    handler.calls = 0;
    const expected = await raw(reference);
    const fastCalls = handler.calls;
    const actual = await raw(fast);
    expect(expected).toMatch(/^HTTP\/1\.1 400/);
    expect(reason(expected.slice(expected.indexOf('\r\n\r\n') + 4))).toBe('VALIDATION');
    expect(actual).toBe(expected);
    expect([fastCalls, handler.calls]).toEqual([0, 1]);
  });

  it.each([
    ['a content type no parser takes: refused by Fastify before any route, as before', 'application/xml'],
    ['a form: refused before any route (tRPC would read it as FormData and fail)', 'multipart/form-data; boundary=x'],
  ])('%s', async (_, contentType) => {
    const request = () => ({ ...enter(), headers: { authorization: user.authorization, 'content-type': contentType }, payload: '--x--' });
    const { expected, actual } = await compare(request);
    expect([expected.wire.status, reason(expected.wire.body)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    expect(actual.wire).toEqual(expected.wire);
    expect(actual.log).toEqual(expected.log);
    expect([handler.calls, handler.requests]).toEqual([0, 0]);
  });
});
