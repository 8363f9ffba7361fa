import Fastify from 'fastify';
import { fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { DomainError, ERROR_REASONS } from '@frontrow/core';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { type InnerContext, createContextFactory } from './context.ts';
import { REASON_CODES } from './errors.ts';
import { testInnerContext } from './testing.ts';
import { publicProcedure, router } from './trpc.ts';

let db: TestDatabase;
let inner: InnerContext;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  inner = testInnerContext(db.orm);
});
afterAll(async () => db?.drop());

// procedures built on the real publicProcedure, so the real error mapping and formatter shape their errors
const probe = router({
  bug: publicProcedure.query(() => {
    throw new Error('secret detail: password=hunter2');
  }),
  refuse: publicProcedure.input(z.object({ reason: z.enum(ERROR_REASONS) })).mutation(({ input }) => {
    throw new DomainError(input.reason, `refused with ${input.reason}`);
  }),
});

async function server() {
  const app = Fastify();
  await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions: { router: probe, createContext: createContextFactory(inner) } });
  return app;
}

describe('error responses', () => {
  it('an unexpected failure is a 500 that shows neither its message nor a stack', async () => {
    const app = await server();
    const res = await app.inject({ method: 'GET', url: '/trpc/bug' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body.error.message).toBe('internal server error');
    expect(res.body).not.toContain('hunter2');
    expect(body.error.data.stack).toBeUndefined();
    expect(body.error.data.reason).toBeUndefined();
  });

  it.each(ERROR_REASONS.filter((r) => r !== 'VALIDATION'))(
    'a DomainError %s answers its tRPC code and HTTP status, with the reason',
    async (reason) => {
      const app = await server();
      const res = await app.inject({ method: 'POST', url: '/trpc/refuse', payload: { reason } });
      const body = res.json();
      expect(body.error.data).toMatchObject({ code: REASON_CODES[reason], reason, path: 'refuse' });
      expect(res.statusCode).toBe(body.error.data.httpStatus);
      expect(body.error.message).toBe(`refused with ${reason}`);
      expect(body.error.data.stack).toBeUndefined();
    },
  );

  it('a schema failure is 400 VALIDATION with the issues', async () => {
    const app = await server();
    const res = await app.inject({ method: 'POST', url: '/trpc/refuse', payload: { reason: 'NOPE' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.data).toMatchObject({ code: 'BAD_REQUEST', reason: 'VALIDATION', issues: [{ path: ['reason'] }] });
  });

  it('an unknown procedure is a 404 NOT_FOUND that names it', async () => {
    const app = await server();
    const res = await app.inject({ method: 'GET', url: '/trpc/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toBe('no procedure named "nope" (see API.md, Procedures)');
    expect(res.json().error.data).toMatchObject({ code: 'NOT_FOUND', reason: 'NOT_FOUND' });
  });
});
