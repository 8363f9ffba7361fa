/** The operator's view of one API server: /metrics, request logs without secrets, and queue.enter's rate limit. */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type QueueTicket, admitQueue, createConcert, expireHold, manualClock, noJobs, pauseQueue, systemClock } from '@frontrow/core';
import { type PgBoss, startBoss } from '@frontrow/jobs';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import type { InnerContext } from './context.ts';
import { type ServerDeps, buildServer } from './server.ts';
import { signIn, testInnerContext } from './testing.ts';

let db: TestDatabase;
let boss: PgBoss;
let inner: InnerContext;
const servers: FastifyInstance[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
  boss = await startBoss({ databaseUrl: db.url, listen: false, poolSize: 2 });
  inner = testInnerContext(db.orm);
});
afterAll(async () => {
  for (const app of servers) await app.close();
  await boss?.stop({ graceful: false });
  await db?.drop();
});

async function server(options: Partial<ServerDeps> = {}): Promise<FastifyInstance> {
  const app = await buildServer({ orm: db.orm, inner, ...options });
  servers.push(app);
  return app;
}

const deps = () => ({ em: db.orm.em, clock: systemClock, jobs: noJobs, settings: inner.settings });

async function concert(maxActive = 100): Promise<string> {
  return (await createConcert(deps(), { title: 'Ops Live', venue: 'Hall', dates: ['2099-03-01'], price: 40_000, maxActive })).concertId;
}

type Call = { method?: 'GET' | 'POST'; input?: unknown; token?: string; ip?: string; headers?: Record<string, string> };

async function call(app: FastifyInstance, path: string, { method = 'POST', input, token, ip, headers = {} }: Call = {}) {
  // a queue token travels with its owner's identity, as a client sends them
  const owner = token ? owners.get(token) : undefined;
  const auth = token ? { 'x-queue-token': token, ...(owner ? { authorization: owner } : {}) } : {};
  const res =
    method === 'GET'
      ? await app.inject({
          method,
          url: `/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
          headers: { ...auth, ...headers },
          remoteAddress: ip,
        })
      : await app.inject({
          method,
          url: `/trpc/${path}`,
          headers: { 'content-type': 'application/json', ...auth, ...headers },
          payload: input === undefined ? undefined : JSON.stringify(input),
          remoteAddress: ip,
        });
  return res;
}

/** The identity (`Bearer …`) of whoever entered with each queue token. */
const owners = new Map<string, string>();

async function enter(app: FastifyInstance, concertId: string, ip = '127.0.0.1'): Promise<QueueTicket> {
  const user = await signIn();
  const res = await call(app, 'queue.enter', { input: { concertId }, ip, headers: { authorization: user.authorization } });
  expect(res.statusCode).toBe(200);
  const ticket = (res.json() as { result: { data: QueueTicket } }).result.data;
  owners.set(ticket.token, user.authorization);
  return ticket;
}

/** The value of one series in Prometheus text, e.g. `frontrow_queue_active{concert_id="3"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('exposes calls and latency per procedure with status and reason, queue gauges, admissions, holds, expiries, payments and job lag', async () => {
    const app = await server({ jobQueues: boss });
    const concertId = await concert(2);
    const [payer, expirer] = [await enter(app, concertId), await enter(app, concertId)];
    await enter(app, concertId); // stays WAITING: two places
    await admitQueue(deps(), { concertId });

    const charge = await call(app, 'wallet.charge', {
      input: { amount: 100_000 },
      headers: { authorization: owners.get(payer.token) ?? '' },
    });
    expect(charge.statusCode).toBe(200);
    const held = await call(app, 'reservations.hold', { token: payer.token, input: { concertId, date: '2099-03-01', seatNumbers: [1] } });
    expect(held.statusCode).toBe(200);
    const taken = await call(app, 'reservations.hold', {
      token: expirer.token,
      input: { concertId, date: '2099-03-01', seatNumbers: [1] },
    });
    expect(taken.statusCode).toBe(409);
    const lapsing = await call(app, 'reservations.hold', {
      token: expirer.token,
      input: { concertId, date: '2099-03-01', seatNumbers: [2] },
    });
    expect(lapsing.statusCode).toBe(200);
    const reservationId = (held.json() as { result: { data: { reservationId: string } } }).result.data.reservationId;
    expect((await call(app, 'payments.pay', { token: payer.token, input: { reservationId } })).statusCode).toBe(200);
    const lapsed = (lapsing.json() as { result: { data: { reservationId: string } } }).result.data.reservationId;
    const afterExpiry = manualClock(new Date(Date.now() + 301_000));
    await expireHold({ em: db.orm.em, clock: afterExpiry }, lapsed);
    await pauseQueue({ em: db.orm.em }, { concertId });

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.body;
    const c = `concert_id="${concertId}"`;
    expect(sample(text, `frontrow_queue_waiting{${c}}`)).toBe(1);
    expect(sample(text, `frontrow_queue_active{${c}}`)).toBe(1); // the payer's token is COMPLETED
    expect(sample(text, `frontrow_queue_admissions_total{${c}}`)).toBe(2);
    expect(sample(text, `frontrow_queue_paused{${c}}`)).toBe(1);
    expect(sample(text, `frontrow_queue_sold_out{${c}}`)).toBe(0);
    expect(sample(text, `frontrow_queue_sales_closed{${c}}`)).toBe(0);
    expect(sample(text, `frontrow_queue_sales_closed_expiries_total{${c}}`)).toBe(0);
    expect(sample(text, `frontrow_queue_no_shows_total{${c}}`)).toBe(0);
    expect(sample(text, `frontrow_holds_total{${c}}`)).toBe(2);
    expect(sample(text, `frontrow_hold_expiries_total{${c}}`)).toBe(1);
    expect(sample(text, `frontrow_payments_total{${c}}`)).toBe(1);
    expect(sample(text, `frontrow_payments_won_total{${c}}`)).toBe(40_000);
    expect(sample(text, 'frontrow_trpc_calls_total{procedure="queue.enter",status="200",reason=""}')).toBe(3);
    expect(sample(text, 'frontrow_trpc_calls_total{procedure="reservations.hold",status="200",reason=""}')).toBe(2);
    expect(sample(text, 'frontrow_trpc_calls_total{procedure="reservations.hold",status="409",reason="SEAT_UNAVAILABLE"}')).toBe(1);
    expect(sample(text, 'frontrow_trpc_call_duration_seconds_count{procedure="payments.pay",status="200"}')).toBe(1);
    expect(sample(text, 'frontrow_http_requests_total{method="POST",route="/trpc/:path",status="409"}')).toBe(1);
    expect(sample(text, 'frontrow_database_up')).toBe(1);
    expect(sample(text, 'frontrow_job_lag_seconds{queue="hold.expire"}')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'frontrow_jobs_ready{queue="queue.admit"}')).toBeGreaterThanOrEqual(0);
    expect(text).toContain('frontrow_process_cpu_seconds_total');
  });

  it("counts the process's database round trips: a scrape's own reads, plus each call's queries", async () => {
    const app = await server();
    const series = 'frontrow_database_round_trips_total';
    const scrape = async () => sample((await app.inject({ method: 'GET', url: '/metrics' })).body, series) ?? Number.NaN;
    const first = await scrape();
    const idle = (await scrape()) - first; // nothing but the scrape's own reads
    const before = await scrape();
    for (let i = 0; i < 3; i++) expect((await call(app, 'concerts.list', { method: 'GET' })).statusCode).toBe(200);
    const busy = (await scrape()) - before;
    expect(idle).toBeGreaterThan(0);
    expect(busy - idle).toBeGreaterThanOrEqual(3);
  });

  it('keeps a registry per server: two servers in one process count their own requests', async () => {
    const [a, b] = [await server(), await server()];
    for (let i = 0; i < 3; i++) expect((await call(a, 'concerts.list', { method: 'GET' })).statusCode).toBe(200);
    const series = 'frontrow_trpc_calls_total{procedure="concerts.list",status="200",reason=""}';
    expect(sample((await a.inject({ method: 'GET', url: '/metrics' })).body, series)).toBe(3);
    expect(sample((await b.inject({ method: 'GET', url: '/metrics' })).body, series)).toBeUndefined();
  });

  it('labels calls of unknown procedures "unknown", so made-up paths cannot mint series', async () => {
    const app = await server();
    await call(app, 'made.up1', { method: 'GET' });
    await call(app, 'made.up2', { method: 'GET' });
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'frontrow_trpc_calls_total{procedure="unknown",status="404",reason="NOT_FOUND"}')).toBe(2);
    expect(text).not.toContain('made.up');
  });
});

describe('request logs', () => {
  it('carry the request id, echo it to the client, and never contain the bearer token', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const app = await server({ logger: { level: 'debug', stream } });
    const concertId = await concert();
    const ticket = await enter(app, concertId);

    const res = await call(app, 'queue.status', { method: 'GET', token: ticket.token, headers: { 'x-request-id': 'support-42' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('support-42');
    // a token in the query string (how a browser EventSource authenticates) is masked too
    const params = encodeURIComponent(JSON.stringify({ queueToken: ticket.token }));
    await app.inject({ method: 'GET', url: `/trpc/queue.status?connectionParams=${params}&token=${ticket.token}` });
    // and in the answers the transport gives before any procedure: an unknown route (404), an unknown
    // procedure, a body refused (415), a wrong method (405)
    const secretQuery = `connectionParams=${params}&token=${ticket.token}&access_token=${ticket.token}`;
    expect((await app.inject({ method: 'GET', url: `/nope?${secretQuery}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/trpc/queue.nope?${secretQuery}` })).statusCode).toBe(404);
    const refused = await app.inject({
      method: 'POST',
      url: `/trpc/queue.leave?${secretQuery}`,
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    expect(refused.statusCode).toBe(415);
    expect((await app.inject({ method: 'GET', url: `/trpc/queue.leave?${secretQuery}` })).statusCode).toBe(405);
    // and so is the header if anything logs the request object itself
    app.log.info({ req: { headers: { authorization: `Bearer ${ticket.token}` } } }, 'a careless line');
    app.log.info({ headers: { authorization: `Bearer ${ticket.token}` }, token: ticket.token }, 'another careless line');
    app.log.info({ req: { headers: { 'x-queue-token': ticket.token } }, queueToken: ticket.token }, 'a third careless line');

    const completed = lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; calls?: unknown });
    expect(completed).toContainEqual(
      expect.objectContaining({
        reqId: 'support-42',
        msg: 'request completed',
        calls: [{ procedure: 'queue.status', status: 200, reason: '' }],
      }),
    );
    expect(lines.length).toBeGreaterThanOrEqual(9);
    const signature = ticket.token.split('.')[2] ?? ticket.token;
    for (const line of lines) expect(line).not.toContain(signature);
    // the transport's refusals are a client's mistakes: one info line each, no stack
    const refusals = completed.filter(
      (l) => l.msg === 'request completed' && [404, 405, 415].includes((l as { statusCode?: number }).statusCode ?? 0),
    );
    expect(refusals).toHaveLength(4);
    for (const line of refusals) expect(line).toMatchObject({ level: 30 });
    expect(lines.join('\n')).not.toContain('"stack"');
  });
});

describe('queue.enter rate limit', () => {
  it('answers the N+1-th queue.enter from one address within a minute with 429 RATE_LIMITED, in the tRPC error shape', async () => {
    const app = await server({ queueEnterRateLimit: 3 });
    const concertId = await concert();
    for (let i = 0; i < 3; i++) await enter(app, concertId, '10.1.1.1');

    const headers = { authorization: (await signIn()).authorization };
    const limited = await call(app, 'queue.enter', { input: { concertId }, ip: '10.1.1.1', headers });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.json()).toEqual({
      error: {
        message: expect.any(String),
        code: -32029,
        data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, path: 'queue.enter', reason: 'RATE_LIMITED' },
      },
    });
    // a batch carrying queue.enter is refused as a whole, one error per call
    const batch = await app.inject({
      method: 'POST',
      url: '/trpc/queue.enter?batch=1',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify({ 0: { concertId } }),
      remoteAddress: '10.1.1.1',
    });
    expect(batch.statusCode).toBe(429);
    expect(batch.json()).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ data: expect.objectContaining({ reason: 'RATE_LIMITED' }) }) }),
    ]);

    // another address, and other procedures from the same one, are not limited
    await enter(app, concertId, '10.1.1.2');
    expect((await call(app, 'concerts.list', { method: 'GET', ip: '10.1.1.1' })).statusCode).toBe(200);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(sample(text, 'frontrow_trpc_calls_total{procedure="queue.enter",status="429",reason="RATE_LIMITED"}')).toBe(2);
  });

  /** A batched request of `calls` queue.enter calls of one user, from `ip` (optionally through a proxy). */
  async function enterBatch(app: FastifyInstance, concertId: string, calls: number, ip: string, headers: Record<string, string>) {
    const input = Object.fromEntries(Array.from({ length: calls }, (_, i) => [i, { concertId }]));
    return await app.inject({
      method: 'POST',
      url: `/trpc/${Array(calls).fill('queue.enter').join(',')}?batch=1`,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(input),
      remoteAddress: ip,
    });
  }

  it('counts every queue.enter call of a batch: a batch cannot carry more entries than the limit', async () => {
    const app = await server({ queueEnterRateLimit: 3 });
    const concertId = await concert();
    const over = await enterBatch(app, concertId, 4, '10.3.3.1', { authorization: (await signIn()).authorization });
    expect(over.statusCode).toBe(429);
    expect(over.json().map((call: { error: { data: { reason: string } } }) => call.error.data.reason)).toEqual(
      Array(4).fill('RATE_LIMITED'),
    );
    // three calls in a batch use up the address's minute: the next single call is refused
    const at = await enterBatch(app, concertId, 3, '10.3.3.2', { authorization: (await signIn()).authorization });
    expect(at.statusCode).toBe(200);
    const next = await call(app, 'queue.enter', {
      input: { concertId },
      ip: '10.3.3.2',
      headers: { authorization: (await signIn()).authorization },
    });
    expect(next.statusCode).toBe(429);
  });

  it('counts per signed-in user too: one account from many addresses is limited', async () => {
    const app = await server({ queueEnterRateLimit: 3 });
    const concertId = await concert();
    const headers = { authorization: (await signIn()).authorization };
    for (let i = 1; i <= 3; i++)
      expect((await call(app, 'queue.enter', { input: { concertId }, ip: `10.4.4.${i}`, headers })).statusCode).toBe(200);
    const fourth = await call(app, 'queue.enter', { input: { concertId }, ip: '10.4.4.9', headers });
    expect([fourth.statusCode, fourth.json().error.data.reason]).toEqual([429, 'RATE_LIMITED']);
  });

  it('believes X-Forwarded-For only from a proxy named in TRUST_PROXY', async () => {
    const forwarded = async (app: FastifyInstance, concertId: string, from: string, client: string) => {
      const headers = { authorization: (await signIn()).authorization, 'x-forwarded-for': client };
      return (await call(app, 'queue.enter', { input: { concertId }, ip: from, headers })).statusCode;
    };
    // off by default: the header is anyone's to write, so the socket's address counts
    const plain = await server({ queueEnterRateLimit: 2 });
    const concertId = await concert();
    const spoofed = [];
    for (let i = 1; i <= 3; i++) spoofed.push(await forwarded(plain, concertId, '10.5.5.5', `203.0.113.${i}`));
    expect(spoofed).toEqual([200, 200, 429]);
    // behind a known proxy, each forwarded client has its own count; from anywhere else, the header is ignored
    const proxied = await server({ queueEnterRateLimit: 2, trustProxy: ['10.6.6.6'] });
    const clients = [];
    for (let i = 1; i <= 3; i++) clients.push(await forwarded(proxied, concertId, '10.6.6.6', `198.51.100.${i}`));
    expect(clients).toEqual([200, 200, 200]);
    const stranger = [];
    for (let i = 1; i <= 3; i++) stranger.push(await forwarded(proxied, concertId, '10.7.7.7', `198.51.100.${10 + i}`));
    expect(stranger).toEqual([200, 200, 429]);
  });

  it('is off at 0: any number of entries from one address', async () => {
    const app = await server({ queueEnterRateLimit: 0 });
    const concertId = await concert();
    for (let i = 0; i < 8; i++) await enter(app, concertId, '10.2.2.2');
  });
});

describe('graceful close', () => {
  it('ends open queue.watch streams, so a close is not held up by a watcher, and the watcher sees its stream end', async () => {
    const app = await buildServer({ orm: db.orm, inner });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const ticket = await enter(app, await concert());
    const stream = await fetch(`${url}/trpc/queue.watch`, { headers: { 'x-queue-token': ticket.token } });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toContain('WAITING');

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      app.close().then(() => 'closed'),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('still open after 5 s'), 5_000);
      }),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    const end = await reader?.read().catch(() => ({ done: true }));
    expect(end?.done).toBe(true);
  });
});
