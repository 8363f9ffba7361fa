/**
 * A NUL or an unpaired surrogate in any string field of any procedure is VALIDATION (400), never BUSY:
 * PostgreSQL refuses a NUL by dropping the connection (08P01). The fields are found by walking the
 * router's input schemas, so a string field added later is sent both too.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert, inTransaction, WELL_FORMED_TEXT_MESSAGE } from '@frontrow/core';
import { Concert, QueueToken } from '@frontrow/db';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { appRouter } from '../src/router.ts';
import { buildServer } from '../src/server.ts';
import { signIn, testInnerContext } from '../src/testing.ts';

let db: TestDatabase;
let app: FastifyInstance;
let headers: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  const inner = testInnerContext(db.orm);
  app = await buildServer({ orm: db.orm, inner });
  const { concertId } = await createConcert(inner, { title: 'Text', venue: 'Hall', dates: ['2099-05-01'] });
  // an admitted operator, so the guards of every procedure (operator.* too) let the call reach its input
  const user = await signIn(undefined, undefined, { operator: true });
  const tokenId = await inTransaction(db.orm.em, async (em) => {
    const now = new Date();
    const token = em.create(QueueToken, {
      concert: em.getReference(Concert, concertId),
      userId: user.userId,
      ticket: 1,
      status: 'ACTIVE',
      activatedAt: now,
      activeUntil: new Date(now.getTime() + 600_000),
    });
    await em.flush();
    return token.id;
  });
  const queueToken = await inner.tokens.sign({ tokenId, userId: user.userId, concertId, ticket: 1 });
  headers = { authorization: user.authorization, 'x-queue-token': queueToken };
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

/** A zod 4 schema's definition, as much of it as the walk reads. */
type Def = {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  in?: { _zod: { def: Def } };
};

/** The paths of every string field of a schema (objects, optionals, defaults and arrays walked through). */
function stringFields(def: Def, path: string[] = []): string[][] {
  switch (def.type) {
    case 'string':
      return [path];
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, field]) => stringFields(field._zod.def, [...path, key]));
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      return def.innerType ? stringFields(def.innerType._zod.def, path) : [];
    case 'array':
      return def.element ? stringFields(def.element._zod.def, [...path, '0']) : [];
    case 'pipe':
      return def.in ? stringFields(def.in._zod.def, path) : [];
    default:
      return [];
  }
}

type Procedure = { _def: { type: string; inputs: { _zod: { def: Def } }[] } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Procedure>);
const cases = procedures.flatMap(([name, procedure]) =>
  procedure._def.inputs.flatMap((input) => stringFields(input._zod.def)).map((field) => ({ name, type: procedure._def.type, field })),
);

/** An input whose only field is `value` at `path`. */
function inputWith(path: string[], value: string): unknown {
  return path.reduceRight<unknown>((inner, key) => (/^\d+$/.test(key) ? [inner] : { [key]: inner }), value);
}

describe('text inputs', () => {
  it('finds the string fields of the router (the walk is not blind)', () => {
    const found = cases.map((c) => `${c.name}:${c.field.join('.')}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'queue.enter:concertId',
        'wallet.charge:idempotencyKey',
        'payments.pay:idempotencyKey',
        'reservations.hold:date',
      ]),
    );
  });

  const bad = { NUL: 'a\u0000b', 'a lone high surrogate': 'a\ud800b', 'a lone low surrogate': '\udc00' };
  it.each(Object.entries(bad))(
    '%s in every string field of every procedure is 400 VALIDATION with the shared message',
    async (_, value) => {
      for (const { name, type, field } of cases) {
        const input = JSON.stringify(inputWith(field, value));
        const res =
          type === 'mutation'
            ? await app.inject({
                method: 'POST',
                url: `/trpc/${name}`,
                headers: { ...headers, 'content-type': 'application/json' },
                payload: input,
              })
            : await app.inject({ method: 'GET', url: `/trpc/${name}?input=${encodeURIComponent(input)}`, headers });
        const where = `${name} ${field.join('.')}`;
        expect(res.statusCode, `${where}: ${res.body}`).toBe(400);
        const error = res.json().error;
        expect(error.data.reason, where).toBe('VALIDATION');
        expect(error.data.issues, where).toContainEqual({ path: field, message: WELL_FORMED_TEXT_MESSAGE });
      }
    },
  );
});
