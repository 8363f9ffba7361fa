/**
 * `GET /trpc/queue.status` of a WAITING token is answered before tRPC (waiting-status.ts): the same bytes
 * tRPC sends, built without a request context; every other case goes through tRPC as before.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { AdmissionMemory, admitQueue, createConcert } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildServer } from './server.ts';
import { signIn, testInnerContext } from './testing.ts';

let db: TestDatabase;
let memory: AdmissionMemory;
/** With the in-memory admission state: WAITING polls take the plain route. */
let fast: FastifyInstance;
/** Without it: every poll is tRPC's, reading the database. The reference answer. */
let plain: FastifyInstance;
let concertId: string;
let active: string;
let waiting: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  memory = new AdmissionMemory({ em: db.orm.em, refreshMs: 600_000, maxStaleMs: 600_000 });
  fast = await buildServer({ orm: db.orm, inner: testInnerContext(db.orm, { admissions: memory }) });
  plain = await buildServer({ orm: db.orm, inner: testInnerContext(db.orm) });
  ({ concertId } = await createConcert(testDeps(db.orm), { title: 'S', venue: 'V', dates: ['2099-06-01'], maxActive: 1 }));
  active = await enter();
  waiting = await enter();
  await admitQueue(testDeps(db.orm), { concertId });
  memory.subscribe(concertId, () => undefined)(); // ask for the concert, then read it
  await memory.refresh();
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await fast?.close();
  await plain?.close();
  await memory?.close();
  await db?.drop();
});

async function enter(): Promise<string> {
  const { authorization } = await signIn();
  const res = await plain.inject({ method: 'POST', url: '/trpc/queue.enter', headers: { authorization }, payload: { concertId } });
  return res.json().result.data.token;
}

/** What a client sees: status, content type and the body's bytes. */
async function poll(app: FastifyInstance, url: string, token?: string) {
  const res = await app.inject({ method: 'GET', url, headers: token === undefined ? {} : { 'x-queue-token': token } });
  return { status: res.statusCode, type: res.headers['content-type'], vary: res.headers.vary, body: res.body };
}

describe('queue.status of a WAITING token before tRPC', () => {
  it.each([
    ['a plain GET', '/trpc/queue.status'],
    ["the typed client's batch of one", '/trpc/queue.status?batch=1&input=%7B%7D'],
  ])('%s: the bytes tRPC sends, with no request context built', async (_, url) => {
    const reference = await poll(plain, url, waiting);
    expect(reference.status).toBe(200);
    expect(JSON.stringify(reference.body)).toContain('WAITING');
    // a request context forks the EntityManager: the plain route builds none
    const forks = vi.spyOn(db.orm.em, 'fork');
    for (let i = 0; i < 20; i++) expect(await poll(fast, url, waiting)).toEqual(reference);
    expect(forks).not.toHaveBeenCalled();
  });

  it.each([
    ['an ACTIVE token (the database is read)', '/trpc/queue.status', () => active],
    ['no token', '/trpc/queue.status', () => undefined],
    ['a forged token', '/trpc/queue.status', () => `${waiting.slice(0, -2)}xx`],
    ['a token that is not a JWT', '/trpc/queue.status', () => 'nonsense'],
    ['an input', '/trpc/queue.status?input=%7B%22x%22%3A1%7D', () => waiting],
    ['a batch with an input', '/trpc/queue.status?batch=1&input=%7B%220%22%3A%7B%7D%7D', () => waiting],
    ['an unknown parameter', '/trpc/queue.status?x=1', () => waiting],
  ])('%s: answered by tRPC, as without the plain route', async (_, url, token) => {
    const reference = await poll(plain, url, token());
    const forks = vi.spyOn(db.orm.em, 'fork');
    expect(await poll(fast, url, token())).toEqual(reference);
    expect(forks).toHaveBeenCalled();
  });

  it('a HEAD is answered as tRPC answers it', async () => {
    const head = (app: FastifyInstance) => app.inject({ method: 'HEAD', url: '/trpc/queue.status', headers: { 'x-queue-token': waiting } });
    const [a, b] = [await head(fast), await head(plain)];
    expect([a.statusCode, a.headers['content-type']]).toEqual([b.statusCode, b.headers['content-type']]);
  });

  it('a POST is refused as tRPC refuses it', async () => {
    const post = (app: FastifyInstance) =>
      app.inject({
        method: 'POST',
        url: '/trpc/queue.status',
        headers: { 'x-queue-token': waiting, 'content-type': 'application/json' },
        payload: '{}',
      });
    const [a, b] = [await post(fast), await post(plain)];
    expect(a.statusCode).toBe(405);
    expect([a.statusCode, a.body]).toEqual([b.statusCode, b.body]);
  });
});
