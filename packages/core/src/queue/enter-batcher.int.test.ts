import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { createConcert } from '../concert/create-concert.ts';
import { isDomainError } from '../errors.ts';
import { testDeps } from '../testing.ts';
import { EnterBatcher } from './enter-batcher.ts';
import { enterQueue } from './enter-queue.ts';
import { closeSales } from './operator-controls.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
/** A second "process": an ORM with a pool of its own on the same database. */
let other: MikroORM;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  other = await openOrm({ databaseUrl: db.url, poolSize: 10 });
});
afterAll(async () => {
  await other?.close(true);
  await db?.drop();
});

const tokens = createTokenSigner('enter-batcher-test-secret-0123456789abcdef');
const uuid = () => crypto.randomUUID();

async function concert(): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'G', venue: 'V', dates: ['2030-06-01'] })).concertId;
}

function enterVia(orm: MikroORM, entries: EnterBatcher | undefined, concertId: string, userId: string) {
  return enterQueue({ ...testDeps(orm), tokens, entries }, { concertId, userId });
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    () => 'ENTERED',
    (error: unknown) => error,
  );
  if (typeof outcome === 'string') return outcome;
  return isDomainError(outcome) ? outcome.reason : `not a domain error: ${String(outcome)}`;
}

/** Counts the checkouts of the ORM's pool (each one a round trip or more) while `work` runs. */
async function checkouts(orm: MikroORM, work: () => Promise<unknown>): Promise<number> {
  const pool = await orm.em.getConnection().getNativeClient();
  let count = 0;
  const count1 = () => void count++;
  pool.on('acquire', count1);
  try {
    await work();
  } finally {
    pool.off('acquire', count1);
  }
  return count;
}

async function liveTokensPerUser(concertId: string): Promise<Map<string, number>> {
  const rows = await db.orm.em
    .fork()
    .execute<{ user_id: string; n: string }[]>(
      `select user_id, count(*) as n from queue_token where concert_id = ? and status in ('WAITING', 'ACTIVE') group by user_id`,
      [concertId],
    );
  return new Map(rows.map((row) => [row.user_id, Number(row.n)]));
}

describe('entries in groups (EnterBatcher)', () => {
  it('two processes, 150 users entering 3 times each at once: one live token and one ticket per user, tickets 1…150 with no gap, re-entry idempotent', async () => {
    const concertId = await concert();
    const batchers = [
      new EnterBatcher(db.orm.em, { windowMs: 5, maxGroup: 40 }),
      new EnterBatcher(other.em, { windowMs: 5, maxGroup: 40 }),
    ];
    const orms = [db.orm, other];
    const users = Array.from({ length: 150 }, uuid);
    // each user's three entries land on either process, interleaved with everyone else's
    const calls = users.flatMap((userId, u) => [0, 1, 2].map((k) => ({ userId, side: (u + k) % 2 })));
    calls.sort(() => Math.random() - 0.5);
    const answers = await Promise.all(
      calls.map(async ({ userId, side }) => ({
        userId,
        ticket: await enterVia(orms[side] as MikroORM, batchers[side], concertId, userId),
      })),
    );

    const tokenOf = new Map<string, Set<string>>();
    for (const { userId, ticket } of answers) tokenOf.set(userId, (tokenOf.get(userId) ?? new Set()).add(ticket.token));
    expect([...tokenOf.values()].every((set) => set.size === 1)).toBe(true);
    const live = await liveTokensPerUser(concertId);
    expect(live.size).toBe(150);
    expect([...live.values()].every((n) => n === 1)).toBe(true);
    const tickets = await Promise.all(
      users.map(async (userId) => (await tokens.verify([...(tokenOf.get(userId) ?? [])][0] ?? ''))?.ticket),
    );
    expect(tickets.toSorted((x = 0, y = 0) => x - y)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));

    // entering again, through either process, finds the same token
    const again = await Promise.all(
      users.slice(0, 40).map((userId, i) => enterVia(orms[i % 2] as MikroORM, batchers[i % 2], concertId, userId)),
    );
    expect(again.map((a) => a.token)).toEqual(users.slice(0, 40).map((userId) => [...(tokenOf.get(userId) ?? [])][0]));
    expect((await enterVia(db.orm, batchers[0], concertId, uuid())).position).toBe(151);
  });

  it('writes a group in one round trip: 60 entries at once are one checkout of the pool, or three with groups of at most 20', async () => {
    const concertId = await concert();
    const orm = await openOrm({ databaseUrl: db.url, poolSize: 10 });
    try {
      const oneGroup = new EnterBatcher(orm.em, { windowMs: 50, maxGroup: 100 });
      const enterAll = (batcher: EnterBatcher) => Promise.all(Array.from({ length: 60 }, () => enterVia(orm, batcher, concertId, uuid())));
      // the first checkout of a connection also prepares the statements: warm every connection of the pool first
      await Promise.all(Array.from({ length: 10 }, () => enterVia(orm, undefined, concertId, uuid())));
      expect(await checkouts(orm, () => enterAll(oneGroup))).toBe(1);
      expect(await checkouts(orm, () => enterAll(new EnterBatcher(orm.em, { windowMs: 50, maxGroup: 20 })))).toBe(3);
      // every caller still got a ticket of its own
      const live = await liveTokensPerUser(concertId);
      expect(live.size).toBe(130);
    } finally {
      await orm.close(true);
    }
  });

  it('gives two entries of one user in one group the same token, and each caller of a mixed group its own answer', async () => {
    const open = await concert();
    const closed = await concert();
    const soldOut = await concert();
    await closeSales(testDeps(db.orm), { concertId: closed });
    await db.orm.em.fork().execute(`update concert set sold_out = true where id = ?`, [soldOut]);
    const batcher = new EnterBatcher(db.orm.em, { windowMs: 50, maxGroup: 100 });
    const twice = uuid();
    const outcomes = await Promise.all(
      [
        enterVia(db.orm, batcher, open, twice),
        enterVia(db.orm, batcher, closed, uuid()),
        enterVia(db.orm, batcher, open, twice.toUpperCase()),
        enterVia(db.orm, batcher, '987654321', uuid()),
        enterVia(db.orm, batcher, soldOut, uuid()),
        enterVia(db.orm, batcher, open, uuid()),
        enterVia(db.orm, batcher, open, 'not-a-user-id'),
      ].map((p) =>
        p.then(
          (ticket) => ticket,
          (error: unknown) => error,
        ),
      ),
    );
    const [first, refusedClosed, second, unknown, refusedSoldOut, next, bad] = outcomes;
    expect(second).toEqual(first);
    expect(first).toMatchObject({ status: 'WAITING', position: 1 });
    expect(next).toMatchObject({ status: 'WAITING', position: 2 });
    expect(isDomainError(refusedClosed, 'SALES_CLOSED')).toBe(true);
    expect(isDomainError(unknown, 'CONCERT_NOT_FOUND')).toBe(true);
    expect(isDomainError(refusedSoldOut, 'SOLD_OUT')).toBe(true);
    expect(bad).toBeInstanceOf(Error);
    expect((await liveTokensPerUser(open)).size).toBe(2);
    expect((await liveTokensPerUser(closed)).size).toBe(0);
  });

  it('tells every caller of a group SALES_CLOSED when the sale has closed, and draws no ticket', async () => {
    const concertId = await concert();
    await enterVia(db.orm, undefined, concertId, uuid());
    await closeSales(testDeps(db.orm), { concertId });
    const batcher = new EnterBatcher(db.orm.em, { windowMs: 50, maxGroup: 100 });
    let reasons: string[] = [];
    const roundTrips = await checkouts(db.orm, async () => {
      reasons = await Promise.all(Array.from({ length: 30 }, () => reasonOf(enterVia(db.orm, batcher, concertId, uuid()))));
    });
    expect(reasons).toEqual(Array.from({ length: 30 }, () => 'SALES_CLOSED'));
    // the group's round trip, and one read of the concert for the reason, whatever the group's size
    expect(roundTrips).toBe(2);
    const [row] = await db.orm.em
      .fork()
      .execute<{ n: string }[]>(`select count(*) as n from queue_token where concert_id = ?`, [concertId]);
    expect(Number(row?.n)).toBe(1);
  });

  it('a group that breaks is written again entry by entry: only the broken entry fails', async () => {
    const good = await concert();
    const broken = await concert();
    // a concert whose ticket sequence is gone: its entry makes the whole group's statement fail
    await db.orm.em.fork().execute(`drop sequence queue_ticket_${broken}`);
    const batcher = new EnterBatcher(db.orm.em, { windowMs: 50, maxGroup: 100 });
    const outcomes = await Promise.all([
      reasonOf(enterVia(db.orm, batcher, good, uuid())),
      reasonOf(enterVia(db.orm, batcher, broken, uuid())),
      reasonOf(enterVia(db.orm, batcher, good, uuid())),
    ]);
    expect(outcomes[0]).toBe('ENTERED');
    expect(outcomes[2]).toBe('ENTERED');
    expect(outcomes[1]).toMatch(/^not a domain error: .*queue_ticket_/);
    expect((await liveTokensPerUser(good)).size).toBe(2);
  });

  it('refuses a window or a group size out of bounds', () => {
    expect(() => new EnterBatcher(db.orm.em, { windowMs: -1, maxGroup: 10 })).toThrow(/windowMs/);
    expect(() => new EnterBatcher(db.orm.em, { windowMs: 1001, maxGroup: 10 })).toThrow(/windowMs/);
    expect(() => new EnterBatcher(db.orm.em, { windowMs: 2, maxGroup: 0 })).toThrow(/maxGroup/);
    expect(() => new EnterBatcher(db.orm.em, { windowMs: 2, maxGroup: 1001 })).toThrow(/maxGroup/);
  });
});
