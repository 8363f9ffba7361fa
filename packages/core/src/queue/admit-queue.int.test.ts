import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { concertsToAdmit } from './concerts-to-admit.ts';
import { configureQueue } from './configure-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { leaveQueue } from './leave-queue.ts';
import { type QueueTicket, readTicketState } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
/** Two more connection pools on the same database: the "two admitter processes". */
let admitters: MikroORM[] = [];
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  admitters = [await openOrm({ databaseUrl: db.url, poolSize: 2 }), await openOrm({ databaseUrl: db.url, poolSize: 2 })];
});
afterAll(async () => {
  for (const orm of admitters) await orm.close(true);
  await db?.drop();
});

const tokens = createTokenSigner('admit-queue-test-secret-0123456789abcdef');
const uuid = () => crypto.randomUUID();
const sql = <T>(query: string, params: unknown[] = []) => db.orm.em.fork().execute<T[]>(query, params);

async function concert(options: { maxActive?: number; activeTtlSeconds?: number } = {}): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'Q', venue: 'V', dates: ['2030-06-01'], ...options })).concertId;
}

async function enterMany(concertId: string, n: number, clock = manualClock()): Promise<QueueTicket[]> {
  const entered: QueueTicket[] = [];
  for (let i = 0; i < n; i++) entered.push(await enterQueue({ ...testDeps(db.orm, { clock }), tokens }, { concertId, userId: uuid() }));
  return entered;
}

async function statusOf(ticket: QueueTicket, now = new Date()) {
  const claims = await tokens.verify(ticket.token);
  if (!claims) throw new Error('unverifiable token');
  const state = await readTicketState(db.orm.em.fork(), claims, now);
  if (!state) throw new Error('unknown token');
  return state;
}

async function ticketsWith(concertId: string, status: string): Promise<number[]> {
  const rows = await sql<{ ticket: string }>(`select ticket from queue_token where concert_id = ? and status = ? order by ticket`, [
    concertId,
    status,
  ]);
  return rows.map((r) => Number(r.ticket));
}

describe('admission', () => {
  it('admits in entry order: with capacity k exactly the first k tickets are ACTIVE', async () => {
    const concertId = await concert({ maxActive: 3 });
    const entered = await enterMany(concertId, 8);
    const round = await admitQueue(testDeps(db.orm), { concertId });
    expect(round).toMatchObject({ admittedTickets: [1, 2, 3], active: 3, admittedThrough: 3, expired: 0 });
    expect(await ticketsWith(concertId, 'ACTIVE')).toEqual([1, 2, 3]);
    expect(await ticketsWith(concertId, 'WAITING')).toEqual([4, 5, 6, 7, 8]);
    // the rest keep their place, now counted from the last admitted ticket
    expect((await statusOf(entered[3] as QueueTicket)).admittedThrough).toBe(3);
  });

  it('is idempotent: a round right after a round changes nothing', async () => {
    const concertId = await concert({ maxActive: 2 });
    await enterMany(concertId, 5);
    await admitQueue(testDeps(db.orm), { concertId });
    const before = await sql(`select id, status, version from queue_token where concert_id = ? order by id`, [concertId]);
    const again = await admitQueue(testDeps(db.orm), { concertId });
    expect(again).toMatchObject({ admittedTickets: [], expired: 0, active: 2, admittedThrough: 2 });
    expect(await sql(`select id, status, version from queue_token where concert_id = ? order by id`, [concertId])).toEqual(before);
  });

  it('does nothing for an unknown concert', async () => {
    expect(await admitQueue(testDeps(db.orm), { concertId: '987654' })).toBeNull();
  });

  it('never has more than maxActive ACTIVE while 200 users enter and two admitters run at once, and admits in ticket order: exactly the first k', async () => {
    const maxActive = 50;
    const concertId = await concert({ maxActive });
    let entering = true;
    const rounds: number[] = [];
    const admitterLoop = async (orm: MikroORM) => {
      const deps = testDeps(orm);
      while (entering || rounds.length < 4) {
        const round = await admitQueue(deps, { concertId });
        const [row] = await orm.em
          .fork()
          .execute<{ n: string }[]>(`select count(*) as n from queue_token where concert_id = ? and status = 'ACTIVE'`, [concertId]);
        rounds.push(Number(row?.n));
        expect(round?.active).toBeLessThanOrEqual(maxActive);
        // admitted in ticket order: no round admits a ticket below one an earlier round admitted
        for (const ticket of round?.admittedTickets ?? []) expect(ticket).toBeGreaterThan(round?.previousAdmittedThrough ?? 0);
      }
    };
    const enterAll = async () => {
      try {
        return await Promise.all(
          Array.from({ length: 200 }, () => enterQueue({ ...testDeps(db.orm), tokens }, { concertId, userId: uuid() })),
        );
      } finally {
        entering = false;
      }
    };
    // entries that take a while to commit after drawing their ticket: the admitter must not pass them by
    await sql(`create function slow_entry() returns trigger language plpgsql as $$
               begin perform pg_sleep(random() * 0.02); return new; end $$`);
    await sql(`create trigger slow_entry before insert on queue_token for each row execute function slow_entry()`);
    // every loop runs to its end, also when one fails (afterAll drops the database): then the first failure
    const [entries, ...admitting] = await Promise.allSettled([enterAll(), ...admitters.map(admitterLoop)]).finally(() =>
      sql(`drop trigger slow_entry on queue_token; drop function slow_entry()`),
    );
    for (const loop of [entries, ...admitting]) if (loop?.status === 'rejected') throw loop.reason;
    const entered = entries?.status === 'fulfilled' ? entries.value : [];
    await admitQueue(testDeps(db.orm), { concertId });

    expect(entered).toHaveLength(200);
    expect(rounds.length).toBeGreaterThan(4);
    expect(Math.max(...rounds)).toBeLessThanOrEqual(maxActive);
    expect(await ticketsWith(concertId, 'ACTIVE')).toEqual(Array.from({ length: maxActive }, (_, i) => i + 1));
    expect(await ticketsWith(concertId, 'WAITING')).toEqual(Array.from({ length: 200 - maxActive }, (_, i) => i + maxActive + 1));
  });

  it('refuses a lapsed ACTIVE token before the admitter runs; the admitter then expires it and admits the next user', async () => {
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const concertId = await concert({ maxActive: 1, activeTtlSeconds: 60 });
    const [first, second] = (await enterMany(concertId, 2, clock)) as [QueueTicket, QueueTicket];
    await admitQueue(testDeps(db.orm, { clock }), { concertId });
    expect((await statusOf(first, clock.now())).status).toBe('ACTIVE');

    clock.advance(60_000);
    expect((await statusOf(first, clock.now())).status).toBe('EXPIRED');
    expect(await ticketsWith(concertId, 'ACTIVE')).toEqual([1]); // the database has not caught up yet

    const round = await admitQueue(testDeps(db.orm, { clock }), { concertId });
    expect(round).toMatchObject({ expired: 1, admittedTickets: [2], active: 1 });
    expect(await ticketsWith(concertId, 'EXPIRED')).toEqual([1]);
    expect(await statusOf(second, clock.now())).toMatchObject({ status: 'ACTIVE', activeUntil: new Date('2030-01-01T00:02:00Z') });
  });

  it('keeps positions exact while nobody leaves, and never lets one increase', async () => {
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const concertId = await concert({ maxActive: 2, activeTtlSeconds: 10 });
    const entered = await enterMany(concertId, 9, clock);
    const last = new Map<string, number>();
    for (let round = 0; round < 6; round++) {
      await admitQueue(testDeps(db.orm, { clock }), { concertId });
      const waiting = await ticketsWith(concertId, 'WAITING');
      for (const ticket of entered) {
        const state = await statusOf(ticket, clock.now());
        if (state.status !== 'WAITING') continue;
        const position = state.ticket - state.admittedThrough;
        expect(position).toBe(waiting.filter((t) => t < state.ticket).length + 1);
        expect(position).toBeLessThanOrEqual(last.get(ticket.token) ?? Number.POSITIVE_INFINITY);
        last.set(ticket.token, position);
      }
      clock.advance(10_000);
    }
    expect(await ticketsWith(concertId, 'WAITING')).toEqual([]);
  });

  it('skips users who left: positions behind them may overstate but never increase', async () => {
    const concertId = await concert({ maxActive: 2 });
    const entered = await enterMany(concertId, 5);
    const leaver = entered[1] as QueueTicket;
    await leaveQueue(testDeps(db.orm), { token: leaver.token, ticket: await statusOf(leaver) });
    const lastInLine = entered[4] as QueueTicket;
    const before = (await statusOf(lastInLine)).ticket - (await statusOf(lastInLine)).admittedThrough;
    await admitQueue(testDeps(db.orm), { concertId });
    expect(await ticketsWith(concertId, 'ACTIVE')).toEqual([1, 3]);
    const after = await statusOf(lastInLine);
    expect(after.ticket - after.admittedThrough).toBeLessThan(before);
    expect(after.ticket - after.admittedThrough).toBe(2); // ticket 4 is the only one ahead
  });

  it('fills a raised capacity at the next round, and admits nobody while over a lowered one', async () => {
    const concertId = await concert({ maxActive: 2 });
    await enterMany(concertId, 6);
    await admitQueue(testDeps(db.orm), { concertId });
    await configureQueue(testDeps(db.orm), { concertId, maxActive: 4 });
    expect((await admitQueue(testDeps(db.orm), { concertId }))?.admittedTickets).toEqual([3, 4]);
    await configureQueue(testDeps(db.orm), { concertId, maxActive: 1 });
    expect(await admitQueue(testDeps(db.orm), { concertId })).toMatchObject({ admittedTickets: [], active: 4 });
  });

  it('lists the concerts with WAITING or ACTIVE tokens for the admitter to visit', async () => {
    const idle = await concert();
    const busy = await concert();
    await enterMany(busy, 1);
    const listed = await concertsToAdmit(testDeps(db.orm));
    expect(listed).toContain(busy);
    expect(listed).not.toContain(idle);
  });
});
