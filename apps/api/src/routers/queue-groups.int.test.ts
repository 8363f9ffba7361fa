import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { EnterBatcher, type QueueTicket, closeSales, createConcert, createTokenSigner, noJobs, systemClock } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { buildServer } from '../server.ts';
import { type TestUser, signIn, testInnerContext } from '../testing.ts';

/**
 * Entries in groups across two API processes: two servers, each with a pool and an EnterBatcher of its
 * own, on one database, taking the same crowd at once.
 */
let db: TestDatabase;
const orms: MikroORM[] = [];
const apps: FastifyInstance[] = [];
const urls: string[] = [];
const tokens = createTokenSigner('queue-groups-test-secret-of-32-characters');

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  for (let i = 0; i < 2; i++) {
    const orm = await openOrm({ databaseUrl: db.url, poolSize: 10 });
    const inner = testInnerContext(orm, { tokens, entries: new EnterBatcher(orm.em, { windowMs: 5, maxGroup: 50 }) });
    const app = await buildServer({ orm, inner, queueEnterRateLimit: 0 });
    orms.push(orm);
    apps.push(app);
    urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
  }
});
afterAll(async () => {
  for (const app of apps) await app.close();
  for (const orm of orms) await orm.close(true);
  await db?.drop();
});

async function concert(): Promise<string> {
  const deps = { em: db.orm.em, clock: systemClock, jobs: noJobs, settings: testSettings };
  return (await createConcert(deps, { title: 'G', venue: 'V', dates: ['2099-06-01'] })).concertId;
}

async function enter(side: number, concertId: string, user: TestUser): Promise<{ status: number; ticket?: QueueTicket; reason?: string }> {
  const res = await fetch(`${urls[side]}/trpc/queue.enter`, {
    method: 'POST',
    headers: { authorization: user.authorization, 'content-type': 'application/json' },
    body: JSON.stringify({ concertId }),
  });
  const body = (await res.json()) as { result?: { data: QueueTicket }; error?: { data: { reason?: string } } };
  return {
    status: res.status,
    ...(body.result ? { ticket: body.result.data } : {}),
    ...(body.error ? { reason: body.error.data.reason } : {}),
  };
}

describe('queue.enter in groups, two API processes', () => {
  it('120 users entering twice each through both processes at once: one live token per user, the same ticket for both entries, tickets 1…120 with no gap', async () => {
    const concertId = await concert();
    const users = await Promise.all(Array.from({ length: 120 }, () => signIn()));
    const calls = users.flatMap((user, u) => [
      { user, side: u % 2 },
      { user, side: (u + 1) % 2 },
    ]);
    calls.sort(() => Math.random() - 0.5);
    let checkouts = 0;
    const count = () => void checkouts++;
    const pools = await Promise.all(orms.map((orm) => orm.em.getConnection().getNativeClient()));
    for (const pool of pools) pool.on('acquire', count);
    const answers = await Promise.all(calls.map(async ({ user, side }) => ({ user, reply: await enter(side, concertId, user) })));
    for (const pool of pools) pool.off('acquire', count);
    expect(answers.every((a) => a.reply.status === 200)).toBe(true);
    // the entries did meet in groups: fewer round trips than entries
    expect(checkouts).toBeLessThan(calls.length);

    const ticketsOf = new Map<string, Set<string>>();
    for (const { user, reply } of answers)
      ticketsOf.set(user.userId, (ticketsOf.get(user.userId) ?? new Set()).add(reply.ticket?.token ?? ''));
    expect([...ticketsOf.values()].every((set) => set.size === 1)).toBe(true);
    const rows = await db.orm.em
      .fork()
      .execute<{ user_id: string; ticket: string }[]>(
        `select user_id, ticket from queue_token where concert_id = ? and status in ('WAITING', 'ACTIVE') order by ticket`,
        [concertId],
      );
    expect(new Set(rows.map((r) => r.user_id)).size).toBe(120);
    expect(rows.map((r) => Number(r.ticket))).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const signed = await Promise.all(answers.map(async (a) => (await tokens.verify(a.reply.ticket?.token ?? ''))?.ticket));
    expect(new Set(signed).size).toBe(120);
  });

  it('a closed sale: every entry of the crowd, through either process, is answered 409 SALES_CLOSED', async () => {
    const concertId = await concert();
    await closeSales({ em: db.orm.em, clock: systemClock }, { concertId });
    const users = await Promise.all(Array.from({ length: 40 }, () => signIn()));
    const replies = await Promise.all(users.map((user, i) => enter(i % 2, concertId, user)));
    expect(replies.map((r) => `${r.status} ${r.reason}`)).toEqual(Array.from({ length: 40 }, () => '409 SALES_CLOSED'));
  });
});
