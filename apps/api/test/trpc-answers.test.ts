/**
 * How tRPC answers go on the wire: a JSON answer in one piece with its length (the server reads the
 * adapter's streamed Response first), with the status and headers tRPC gave it; batch streams and
 * `queue.watch` still streamed as they are produced.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert, noJobs, systemClock } from '@frontrow/core';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { buildServer } from '../src/server.ts';
import { signIn, testInnerContext } from '../src/testing.ts';

let db: TestDatabase;
let app: FastifyInstance;
let url: string;
let concertId: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  const inner = testInnerContext(db.orm);
  const deps = { em: db.orm.em, clock: systemClock, jobs: noJobs, settings: inner.settings };
  concertId = (await createConcert(deps, { title: 'Wire', venue: 'Hall', dates: ['2099-05-01'] })).concertId;
  app = await buildServer({ orm: db.orm, inner });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/** Checks the answer is sent whole: its content-length is its body's, no chunked framing. */
async function wholeJson(res: Response): Promise<unknown> {
  const body = await res.text();
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(res.headers.get('vary')).toBe('trpc-accept, accept');
  expect(res.headers.get('transfer-encoding')).toBeNull();
  expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
  return JSON.parse(body);
}

describe('tRPC answers on the wire', () => {
  it('sends a result whole, with its length and tRPC headers', async () => {
    const res = await fetch(`${url}/trpc/concerts.list`);
    expect(res.status).toBe(200);
    expect(await wholeJson(res)).toMatchObject({ result: { data: [{ title: 'Wire' }] } });
  });

  it('keeps the status of an error and of each call of a batch', async () => {
    const missing = await fetch(`${url}/trpc/queue.status`);
    expect(missing.status).toBe(401);
    expect(await wholeJson(missing)).toMatchObject({ error: { data: { reason: 'TOKEN_MISSING' } } });

    const wrongMethod = await fetch(`${url}/trpc/concerts.list?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
    expect(await wholeJson(wrongMethod)).toHaveLength(1);
  });

  it('streams a batch asked for as a stream (httpBatchStreamLink)', async () => {
    const res = await fetch(`${url}/trpc/concerts.list?batch=1&input=${encodeURIComponent('{}')}`, {
      headers: { 'trpc-accept': 'application/jsonl' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    expect(await res.text()).toContain('Wire');
  });

  it('streams queue.watch: the first event arrives while the stream stays open', async () => {
    const enter = await fetch(`${url}/trpc/queue.enter`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: (await signIn()).authorization },
      body: JSON.stringify({ concertId }),
    });
    const { token } = ((await wholeJson(enter)) as { result: { data: { token: string } } }).result.data;
    const controller = new AbortController();
    const res = await fetch(`${url}/trpc/queue.watch`, { headers: { 'x-queue-token': token }, signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-length')).toBeNull();
    const first = await res.body?.getReader().read();
    expect(new TextDecoder().decode(first?.value)).toContain('WAITING');
    controller.abort();
  });
});
