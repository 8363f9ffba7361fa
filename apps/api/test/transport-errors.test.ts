/**
 * The transport's own refusals answer in the contract's error shape with a reason (API.md, Transport):
 * a wrong or missing content type, an unknown procedure or route, a wrong method, a body too large or not
 * JSON, a batch with too many calls; and a validation message is a short sentence with the detail in
 * `data.issues`. Over a real socket, as curl would send them.
 */
import { request } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { BODY_LIMIT_BYTES, buildServer } from '../src/server.ts';
import { signIn, testInnerContext } from '../src/testing.ts';

let db: TestDatabase;
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  app = await buildServer({ orm: db.orm, inner: testInnerContext(db.orm), maxBatch: 3 });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

type ErrorBody = {
  error: {
    message: string;
    code: number;
    data: { code: string; httpStatus: number; path: string | null; reason?: string; issues?: unknown };
  };
};

/** A request as curl sends it: only the headers given (no content-length for no body). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function contract(answer: { status: number; body: string }, reason: string): ErrorBody {
  const body = JSON.parse(answer.body) as ErrorBody;
  expect(body.error.data.reason, answer.body).toBe(reason);
  expect(body.error.data.httpStatus).toBe(answer.status);
  expect(typeof body.error.code).toBe('number');
  return body;
}

describe('transport errors in the contract shape', () => {
  it('415 UNSUPPORTED_MEDIA_TYPE for a body of another type or with no content type, saying what to send', async () => {
    const form = { 'content-type': 'multipart/form-data; boundary=x' };
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/xml' }, form, {}] as Record<string, string>[]) {
      const answer = await raw('POST', '/trpc/wallet.charge', headers, '{"amount":1}');
      expect(answer.status, JSON.stringify(headers)).toBe(415);
      expect(contract(answer, 'UNSUPPORTED_MEDIA_TYPE').error.message).toBe('send content-type: application/json');
    }
  });

  it('a mutation with no input works as a bare POST (no content type, no body, no content-length)', async () => {
    const user = await signIn();
    // no queue token: the guard answers, which it only can once the transport let the call through
    const bare = await raw('POST', '/trpc/queue.leave', { authorization: user.authorization });
    expect(bare.status).toBe(401);
    expect(contract(bare, 'TOKEN_MISSING').error.data.path).toBe('queue.leave');
    const empty = await raw('POST', '/trpc/queue.leave', { authorization: user.authorization, 'content-length': '0' });
    expect(contract(empty, 'TOKEN_MISSING').error.data.httpStatus).toBe(401);
  });

  it('404 NOT_FOUND for an unknown procedure and for an unknown route, naming it', async () => {
    const procedure = await raw('GET', '/trpc/queue.nope');
    expect(procedure.status).toBe(404);
    expect(contract(procedure, 'NOT_FOUND').error.message).toContain('queue.nope');
    const route = await raw('GET', '/nope?token=secret');
    expect(route.status).toBe(404);
    const body = contract(route, 'NOT_FOUND');
    expect(body.error.message).toContain('/nope');
    expect(body.error.message).not.toContain('secret');
  });

  it('405 METHOD_NOT_ALLOWED says which method to use', async () => {
    const getMutation = await raw('GET', '/trpc/wallet.charge');
    expect(getMutation.status).toBe(405);
    expect(contract(getMutation, 'METHOD_NOT_ALLOWED').error.message).toMatch(/use POST/);
    const postQuery = await raw('POST', '/trpc/concerts.list', { 'content-type': 'application/json' }, '{}');
    expect(postQuery.status).toBe(405);
    expect(contract(postQuery, 'METHOD_NOT_ALLOWED').error.message).toMatch(/use GET/);
  });

  it(`413 PAYLOAD_TOO_LARGE above ${BODY_LIMIT_BYTES} bytes`, async () => {
    const body = JSON.stringify({ amount: 1, idempotencyKey: 'k'.repeat(BODY_LIMIT_BYTES) });
    const answer = await raw('POST', '/trpc/wallet.charge', { 'content-type': 'application/json' }, body);
    expect(answer.status).toBe(413);
    expect(contract(answer, 'PAYLOAD_TOO_LARGE').error.message).toContain(String(BODY_LIMIT_BYTES));
  });

  it('malformed JSON is 400 VALIDATION with an issue', async () => {
    const user = await signIn();
    const answer = await raw(
      'POST',
      '/trpc/wallet.charge',
      { 'content-type': 'application/json', authorization: user.authorization },
      '{"amount":',
    );
    expect(answer.status).toBe(400);
    const body = contract(answer, 'VALIDATION');
    expect(body.error.data.issues).toEqual([{ path: [], message: 'the input is not valid JSON' }]);
  });

  it('a validation message is one short sentence; the detail is in data.issues, with no pattern or JSON in the message', async () => {
    const user = await signIn();
    const headers = { 'content-type': 'application/json', authorization: user.authorization };
    const zero = contract(await raw('POST', '/trpc/wallet.charge', headers, '{"amount":0}'), 'VALIDATION');
    expect(zero.error.message).toBe('amount: expected a number ≥ 1');
    expect(zero.error.data.issues).toEqual([{ path: ['amount'], message: 'expected a number ≥ 1' }]);
    const two = contract(await raw('POST', '/trpc/wallet.charge', headers, '{"amount":1.5,"idempotencyKey":""}'), 'VALIDATION');
    expect(two.error.message).toBe('amount: expected an integer (and 1 more in data.issues)');
    const missing = contract(await raw('POST', '/trpc/wallet.charge', headers, '{}'), 'VALIDATION');
    expect(missing.error.message).toBe('amount: required');
    const entered = contract(await raw('POST', '/trpc/queue.enter', headers, '{"concertId":"abc"}'), 'VALIDATION');
    expect(entered.error.message).toBe('concertId: expected a concert id (a decimal number)');
    for (const body of [zero, two, missing, entered]) expect(body.error.message).not.toMatch(/[[{/\\^$]/);
  });

  it('a batch of more calls than the cap is refused whole with BATCH_TOO_LARGE; at the cap it runs', async () => {
    const over = await raw('GET', `/trpc/${Array(4).fill('concerts.list').join(',')}?batch=1`);
    expect(over.status).toBe(413);
    const calls = JSON.parse(over.body) as ErrorBody[];
    expect(calls).toHaveLength(4);
    for (const call of calls) {
      expect(call.error.data).toMatchObject({ reason: 'BATCH_TOO_LARGE', httpStatus: 413, path: 'concerts.list' });
      expect(call.error.message).toMatch(/at most 3 calls/);
    }
    const at = await raw('GET', `/trpc/${Array(3).fill('concerts.list').join(',')}?batch=1`);
    expect(at.status).toBe(200);
    expect(JSON.parse(at.body)).toHaveLength(3);
  });
});
