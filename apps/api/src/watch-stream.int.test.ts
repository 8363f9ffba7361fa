/**
 * `GET /trpc/queue.watch` as both servers answer it, the API (watch-route.ts) and the streams process
 * (streams/server.ts), each through `serveWatch` (watch-stream.ts): the bytes tRPC 11's SSE producer wrote,
 * so `httpSubscriptionLink` and a browser `EventSource` read it as before; a guard's refusal as tRPC's
 * `serialized-error`; `return` when a newer stream of the token takes over; one ping for every stream;
 * what neither streams answered as tRPC answers it (the API leaves it to tRPC; the streams process's
 * answers are compared with the API's, byte for byte). The guards, the registry and the events themselves
 * are tested through the API by queue.int.test.ts and queue-memory.int.test.ts.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { AdmissionMemory, type QueueTicket, WatchRegistry, createConcert } from '@frontrow/core';
import { pendingMigrations } from '@frontrow/db';
import { testDeps } from '@frontrow/core/testing';
import { openPool } from '@frontrow/core/edge';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildServer } from './server.ts';
import { type StreamsServer, createStreamsServer } from './streams/server.ts';
import { signIn, testInnerContext } from './testing.ts';

let db: TestDatabase;
let app: FastifyInstance;
let pool: ReturnType<typeof openPool>;
let streamsServer: StreamsServer;
const PING_MS = 100;

/** One server under test: where it listens, and its registry of open streams (three places each). */
type Served = { port: number; watches: WatchRegistry; memory: AdmissionMemory };
const servers = new Map<string, Served>();
/** The server the running describe block tests. */
let current: Served;
const API = 'the API';
const STREAMS = 'the streams process';

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
  const inner = testInnerContext(db.orm, { admissions: new AdmissionMemory({ em: db.orm.em }), watches: new WatchRegistry(3) });
  app = await buildServer({ orm: db.orm, inner, watchPingMs: PING_MS });
  const apiPort = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port);
  servers.set(API, { port: apiPort, watches: inner.watches as WatchRegistry, memory: inner.admissions as AdmissionMemory });

  // the streams process as streams/main.ts builds it: a plain pg pool, no ORM, the API's token secret
  pool = openPool({ databaseUrl: db.url, max: 4, name: 'test streams' });
  const memory = new AdmissionMemory({ em: pool });
  const watches = new WatchRegistry(3);
  streamsServer = createStreamsServer({
    deps: { em: pool, clock: inner.clock, tokens: inner.tokens, admissions: memory, watches },
    database: { ping: () => pool.query('select 1'), pendingMigrations: () => pendingMigrations(db.orm) },
    log: pino({ level: 'silent' }),
    pingMs: PING_MS,
  });
  await new Promise<void>((resolve) => streamsServer.server.listen(0, '127.0.0.1', resolve));
  servers.set(STREAMS, { port: (streamsServer.server.address() as AddressInfo).port, watches, memory });
});
afterAll(async () => {
  await app?.close();
  await streamsServer?.close();
  for (const served of servers.values()) await served.memory.close();
  await pool?.end();
  await db?.drop();
});

async function waiting(): Promise<QueueTicket> {
  const { concertId } = await createConcert(testDeps(db.orm), { title: 'W', venue: 'V', dates: ['2099-06-01'], maxActive: 1 });
  // the first entrant is admitted at once: the second waits
  await enter(concertId);
  return await enter(concertId);
}

async function enter(concertId: string): Promise<QueueTicket> {
  const user = await signIn();
  const res = await app.inject({
    method: 'POST',
    url: '/trpc/queue.enter',
    headers: { authorization: user.authorization },
    payload: { concertId },
  });
  expect(res.statusCode).toBe(200);
  return res.json().result.data as QueueTicket;
}

type Raw = {
  status: Promise<number>;
  headers: Promise<http.IncomingHttpHeaders>;
  /** Everything received so far. */
  text(): string;
  /** Resolves once the received text satisfies `ready` (or rejects when the response ends first). */
  until(ready: (text: string) => boolean): Promise<string>;
  ended: Promise<string>;
  close(): void;
};

/** Every request a test made: closed after it, passed or failed, so no stream of one test holds a place in the next. */
const opened: Raw[] = [];

/** A raw GET, read as text as it arrives: the wire exactly, no SSE parser in between. */
function get(path: string, headers: Record<string, string> = {}, port = current.port, method = 'GET'): Raw {
  let text = '';
  const waiters = new Set<() => void>();
  let resolveHead: (res: http.IncomingMessage) => void = () => {};
  const head = new Promise<http.IncomingMessage>((resolve) => {
    resolveHead = resolve;
  });
  let resolveEnd: (text: string) => void = () => {};
  const ended = new Promise<string>((resolve) => {
    resolveEnd = resolve;
  });
  const req = http.request({ method, host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    resolveHead(res);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      for (const wake of waiters) wake();
    });
    res.on('end', () => {
      resolveEnd(text);
      for (const wake of waiters) wake();
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  req.end();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  const raw: Raw = {
    status: head.then((res) => res.statusCode ?? 0),
    headers: head.then((res) => res.headers),
    text: () => text,
    until: (ready) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (ready(text)) {
            waiters.delete(check);
            resolve(text);
          } else if (done) {
            waiters.delete(check);
            reject(new Error(`the stream ended before it said what was awaited: ${JSON.stringify(text)}`));
          }
        };
        waiters.add(check);
        check();
      }),
    ended,
    close: () => req.destroy(),
  };
  opened.push(raw);
  return raw;
}

/** tRPC's event id of a ticket (queue.ts), so the frame below is the whole frame. */
const idOf = (t: QueueTicket) =>
  `${t.status}:${t.position ?? ''}:${t.activeUntil ?? ''}:${t.estimatedWaitSeconds ?? ''}:${t.paused ? 'p' : ''}${t.soldOut ? 's' : ''}`;

describe.each([API, STREAMS])('GET /trpc/queue.watch on %s', (name) => {
  beforeAll(() => {
    const served = servers.get(name);
    if (!served) throw new Error(`no server ${name}`);
    current = served;
  });
  afterEach(async () => {
    for (const raw of opened.splice(0)) raw.close();
    // the server sees the closes and gives the places back
    while (current.watches.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it("writes tRPC's SSE head and frames: connected, then the ticket with its id", async () => {
    const ticket = await waiting();
    const stream = get('/trpc/queue.watch', { 'x-queue-token': ticket.token });
    expect(await stream.status).toBe(200);
    const headers = await stream.headers;
    expect(headers).toMatchObject({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
      vary: 'trpc-accept, accept',
      'transfer-encoding': 'chunked',
    });
    // the API's hooks add the request id; the streams process has none
    if (name === API) expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const expected = `event: connected\ndata: {}\n\n\ndata: ${JSON.stringify(ticket)}\nid: ${idOf(ticket)}\n\n\n`;
    // (a ping may follow in the same chunk: the interval is 100 ms here)
    expect((await stream.until((text) => text.length >= expected.length)).slice(0, expected.length)).toBe(expected);
    stream.close();
  });

  it('pings every open stream every WATCH ping interval with an event of its own', async () => {
    const [a, b] = [await waiting(), await waiting()];
    const streams = [get('/trpc/queue.watch', { 'x-queue-token': a.token }), get('/trpc/queue.watch', { 'x-queue-token': b.token })];
    // two pings each: the interval goes on for every stream
    const texts = await Promise.all(streams.map((s) => s.until((text) => text.split('event: ping\ndata: \n\n\n').length >= 3)));
    for (const text of texts) expect(text).toMatch(/\nid: [^\n]*\n\n\n(event: ping\ndata: \n\n\n)+/);
    for (const s of streams) s.close();
  });

  it("takes the queue token from connectionParams when the X-Queue-Token header is empty, and the header's when both name one", async () => {
    const [ticket, other] = [await waiting(), await waiting()];
    const params = encodeURIComponent(JSON.stringify({ queueToken: ticket.token }));
    const empty = get(`/trpc/queue.watch?connectionParams=${params}`, { 'x-queue-token': '' });
    expect(await empty.until((text) => text.includes('"token"'))).toContain(`"token":"${ticket.token}"`);
    empty.close();
    const both = get(`/trpc/queue.watch?connectionParams=${params}`, { 'x-queue-token': other.token });
    expect(await both.until((text) => text.includes('"token"'))).toContain(`"token":"${other.token}"`);
    both.close();
  });

  it("answers a guard's refusal as tRPC's serialized-error frame, in the contract's error shape, and ends", async () => {
    const stream = get('/trpc/queue.watch');
    const error = {
      message: 'send your queue token as "X-Queue-Token: <token>"',
      code: -32001,
      data: { code: 'UNAUTHORIZED', httpStatus: 401, path: 'queue.watch', reason: 'TOKEN_MISSING' },
    };
    expect(await stream.ended).toBe(`event: connected\ndata: {}\n\n\nevent: serialized-error\ndata: ${JSON.stringify(error)}\n\n\n`);
    expect(await stream.status).toBe(200);
  });

  it('ends a stream with the return frame when a newer stream of its token takes over, and counts it once', async () => {
    const ticket = await waiting();
    const first = get('/trpc/queue.watch', { 'x-queue-token': ticket.token });
    await first.until((text) => text.includes('"status"'));
    const second = get('/trpc/queue.watch', { 'x-queue-token': ticket.token });
    expect(await first.ended).toMatch(/\n\n\nevent: return\ndata: \n\n\n$/);
    await second.until((text) => text.includes('"status"'));
    expect(current.watches.size).toBe(1);
    second.close();
  });

  it('gives the place back when the client goes away, so a full server takes a stream again', async () => {
    const tickets = [await waiting(), await waiting(), await waiting(), await waiting()];
    const open = tickets.slice(0, 3).map((t) => get('/trpc/queue.watch', { 'x-queue-token': t.token }));
    await Promise.all(open.map((s) => s.until((text) => text.includes('"status"'))));
    const [last] = tickets.slice(3);
    if (!last) throw new Error('no ticket');
    expect(await get('/trpc/queue.watch', { 'x-queue-token': last.token }).ended).toContain('"reason":"STREAM_LIMIT"');
    open[0]?.close();
    // the place comes back as soon as the server sees the close
    while (current.watches.size > 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const again = get('/trpc/queue.watch', { 'x-queue-token': last.token });
    expect(await again.until((text) => text.includes('"status"'))).toContain(`"token":"${last.token}"`);
    again.close();
    for (const s of open) s.close();
  });

  it('answers what it does not stream as tRPC does: a batch, connectionParams that are not an object of strings', async () => {
    const ticket = await waiting();
    const batch = get('/trpc/queue.watch?batch=1', { 'x-queue-token': ticket.token });
    expect(await batch.status).toBe(400);
    expect(JSON.parse(await batch.ended)).toMatchObject([
      { error: { message: 'Cannot batch subscription calls', data: { reason: 'VALIDATION' } } },
    ]);
    const malformed = get(`/trpc/queue.watch?connectionParams=${encodeURIComponent('{"queueToken":1}')}`);
    expect(await malformed.status).toBe(400);
    expect(JSON.parse(await malformed.ended)).toMatchObject({ error: { data: { code: 'PARSE_ERROR', reason: 'VALIDATION' } } });
  });
});

describe('the streams process and the API', () => {
  it('answer what they do not stream with the same status and the same bytes', async () => {
    const ticket = await waiting();
    // another method than GET: tRPC answers with a stream (the procedure is a subscription) saying 405
    const requests: [method: string, path: string][] = [
      ['GET', '/trpc/queue.watch?batch=1'],
      ['GET', `/trpc/queue.watch?connectionParams=${encodeURIComponent('{"queueToken":1}')}`],
      ['GET', `/trpc/queue.watch?connectionParams=${encodeURIComponent('{"queueToken":')}`],
      ['GET', `/trpc/queue.watch?connectionParams=${encodeURIComponent('[]')}`],
      ['GET', `/trpc/queue.watch?connectionParams=${encodeURIComponent('{"queueToken":1}')}&connectionParams=x`],
      ['GET', `/trpc/queue.watch?batch=1&connectionParams=${encodeURIComponent('{"queueToken":1}')}`],
      ['POST', '/trpc/queue.watch'],
      ['HEAD', '/trpc/queue.watch'],
    ];
    for (const [method, path] of requests) {
      const answers = await Promise.all(
        [API, STREAMS].map(async (which) => {
          const answer = get(path, { 'x-queue-token': ticket.token }, servers.get(which)?.port, method);
          return { status: await answer.status, body: await answer.ended };
        }),
      );
      expect(answers[1], `${method} ${path}`).toEqual(answers[0]);
    }
  });
});
