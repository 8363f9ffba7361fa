import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { type ErrorReason, isDomainError } from '../errors.ts';
import type { JobScheduler } from '../jobs.ts';
import { testDeps } from '../testing.ts';
import { admitQueue } from './admit-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { closeSales, pauseQueue, resumeQueue } from './operator-controls.ts';
import { queueStats } from './queue-stats.ts';
import { type QueueTicket, readTicketState, toQueueTicket } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const tokens = createTokenSigner('crowd-controls-test-secret-0123456789abcdef');
const sql = <T>(query: string, params: unknown[] = []) => db.orm.em.fork().execute<T[]>(query, params);
const nudges: string[] = [];
const jobs: JobScheduler = { expireHoldAt: async () => {}, nudgeAdmission: async (id) => void nudges.push(id) };
const deps = (clock = manualClock()) => ({ ...testDeps(db.orm, { clock, jobs }), tokens });

async function concert(maxActive = 2, dates = ['2030-06-01']): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'Crowd', venue: 'V', dates, maxActive })).concertId;
}

async function enterMany(concertId: string, n: number, clock = manualClock()): Promise<QueueTicket[]> {
  const entered: QueueTicket[] = [];
  for (let i = 0; i < n; i++) entered.push(await enterQueue(deps(clock), { concertId, userId: crypto.randomUUID() }));
  return entered;
}

/** The ticket as `queue.status` answers it now. */
async function status(ticket: QueueTicket, now = new Date()): Promise<QueueTicket> {
  const claims = await tokens.verify(ticket.token);
  if (!claims) throw new Error('unverifiable token');
  const state = await readTicketState(db.orm.em.fork(), claims, now);
  if (!state) throw new Error('unknown token');
  return toQueueTicket(ticket.token, state);
}

async function reasonOf(promise: Promise<unknown>): Promise<ErrorReason | 'OK'> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (isDomainError(error)) return error.reason;
    throw error;
  }
}

describe('queue pause and resume', () => {
  it('a paused line admits nobody and says so (paused, no estimate); resumed, it admits in ticket order at once', async () => {
    const concertId = await concert(2);
    const entered = await enterMany(concertId, 4);
    expect(await pauseQueue(testDeps(db.orm), { concertId })).toEqual({ concertId, paused: true });

    expect(await admitQueue(testDeps(db.orm), { concertId })).toMatchObject({ admittedTickets: [], halted: 'PAUSED' });
    const waiting = await status(entered[0] as QueueTicket);
    expect(waiting).toMatchObject({ status: 'WAITING', position: 1, paused: true, estimatedWaitSeconds: null, soldOut: false });
    expect((await queueStats(testDeps(db.orm), { concertId })).paused).toBe(true);

    nudges.length = 0;
    expect(await resumeQueue(testDeps(db.orm, { jobs }), { concertId })).toEqual({ concertId, paused: false });
    expect(nudges).toEqual([concertId]);
    expect(await admitQueue(testDeps(db.orm), { concertId })).toMatchObject({ admittedTickets: [1, 2], halted: null });
    expect(await status(entered[2] as QueueTicket)).toMatchObject({
      status: 'WAITING',
      paused: false,
      estimatedWaitSeconds: expect.any(Number),
    });
  });

  it('a pause of an unknown concert is CONCERT_NOT_FOUND', async () => {
    expect(await reasonOf(pauseQueue(testDeps(db.orm), { concertId: '987654' }))).toBe('CONCERT_NOT_FOUND');
    expect(await reasonOf(closeSales(testDeps(db.orm), { concertId: '987654' }))).toBe('CONCERT_NOT_FOUND');
  });
});

describe('concert close', () => {
  it('ends the waiting tokens with SALES_CLOSED, keeps the ACTIVE ones, refuses new entries and admits nobody more', async () => {
    const concertId = await concert(1);
    const clock = manualClock();
    const entered = await enterMany(concertId, 3, clock);
    await admitQueue(testDeps(db.orm, { clock }), { concertId });

    const closed = await closeSales(testDeps(db.orm, { clock }), { concertId });
    expect(closed).toMatchObject({ concertId, expired: 2 });
    const [first, second, third] = entered as [QueueTicket, QueueTicket, QueueTicket];
    expect(await status(first)).toMatchObject({ status: 'ACTIVE', expiredReason: null });
    for (const ticket of [second, third]) {
      expect(await status(ticket)).toMatchObject({ status: 'EXPIRED', expiredReason: 'SALES_CLOSED', position: null });
    }
    expect(await reasonOf(enterQueue(deps(clock), { concertId, userId: crypto.randomUUID() }))).toBe('SALES_CLOSED');
    // the admitted user entering again gets their own ACTIVE token back: they may still pay
    expect(await enterQueue(deps(clock), { concertId, userId: first.userId })).toMatchObject({ status: 'ACTIVE', userId: first.userId });

    // a slot that frees is not refilled: the sale is over
    clock.advance(700_000);
    expect(await admitQueue(testDeps(db.orm, { clock }), { concertId })).toMatchObject({
      expired: 1,
      admittedTickets: [],
      halted: 'SALES_CLOSED',
    });

    // closing again changes nothing, and keeps the first time
    expect(await closeSales(testDeps(db.orm, { clock }), { concertId })).toEqual({ ...closed, expired: 0 });
    expect((await queueStats(testDeps(db.orm), { concertId })).salesClosedAt).toBe(closed.salesClosedAt);
  });

  it('a waiting token of a closed concert reads EXPIRED/SALES_CLOSED from the rows alone (the rule, not only the close)', async () => {
    const concertId = await concert(1);
    const [, waiting] = await enterMany(concertId, 2);
    await admitQueue(testDeps(db.orm), { concertId });
    await sql(`update concert set sales_closed_at = now() where id = ?`, [concertId]);
    expect(await status(waiting as QueueTicket)).toMatchObject({ status: 'EXPIRED', expiredReason: 'SALES_CLOSED' });
  });

  it('a close racing 40 entries: every entry either is refused SALES_CLOSED or was made before and is ended by it', async () => {
    const concertId = await concert(1);
    const clock = manualClock();
    const outcomes = await Promise.all([
      ...Array.from({ length: 40 }, () =>
        enterQueue(deps(clock), { concertId, userId: crypto.randomUUID() }).then(
          () => 'OK' as const,
          (error: unknown) => (isDomainError(error) ? error.reason : Promise.reject(error)),
        ),
      ),
      closeSales(testDeps(db.orm, { clock }), { concertId }).then(() => 'CLOSED' as const),
    ]);
    expect(outcomes.every((o) => o === 'OK' || o === 'SALES_CLOSED' || o === 'CLOSED' || o === 'BUSY')).toBe(true);
    const [left] = await sql<{ n: string }>(`select count(*) as n from queue_token where concert_id = ? and status = 'WAITING'`, [
      concertId,
    ]);
    expect(Number(left?.n)).toBe(0);
    const [ended] = await sql<{ n: string }>(
      `select count(*) as n from queue_token where concert_id = ? and expired_reason = 'SALES_CLOSED'`,
      [concertId],
    );
    expect(Number(ended?.n)).toBe(outcomes.filter((o) => o === 'OK').length);
  });
});

describe('sold out', () => {
  /** Every seat of the concert's dates RESERVED to one paid reservation, except `held` seat numbers, HELD (a live hold). */
  async function sellAll(concertId: string, held: number[] = []) {
    const schedules = await sql<{ id: string }>(`select id from schedule where concert_id = ?`, [concertId]);
    for (const { id } of schedules) {
      const [paid] = await sql<{ id: string }>(
        `insert into reservation (user_id, concert_id, schedule_id, seat_numbers, total_price, status, expires_at)
         values (gen_random_uuid(), ?, ?, '{1}', 0, 'CONFIRMED', now()) returning id`,
        [concertId, id],
      );
      const [hold] = await sql<{ id: string }>(
        `insert into reservation (user_id, concert_id, schedule_id, seat_numbers, total_price, status, expires_at)
         values (gen_random_uuid(), ?, ?, '{1}', 0, 'HELD', now() + interval '5 minutes') returning id`,
        [concertId, id],
      );
      await sql(`update seat set status = 'RESERVED', reservation_id = ? where schedule_id = ? and not (number = any(?::int[]))`, [
        paid?.id,
        id,
        `{${held.join(',')}}`,
      ]);
      await sql(
        `update seat set status = 'HELD', reservation_id = ?, held_until = now() + interval '5 minutes' where schedule_id = ? and number = any(?::int[])`,
        [hold?.id, id, `{${held.join(',')}}`],
      );
    }
  }

  it('a held seat is not sold out; with every seat sold the line is told, entries are refused SOLD_OUT and nobody is admitted; seats coming back move the line', async () => {
    const concertId = await concert(1);
    const clock = manualClock();
    const entered = await enterMany(concertId, 3, clock);
    await sellAll(concertId, [7]);
    expect(await admitQueue(testDeps(db.orm, { clock }), { concertId })).toMatchObject({ soldOut: false, admittedTickets: [1] });
    expect(await status(entered[1] as QueueTicket)).toMatchObject({ status: 'WAITING', soldOut: false });

    await sql(
      `update seat set status = 'RESERVED', held_until = null where number = 7 and schedule_id in (select id from schedule where concert_id = ?)`,
      [concertId],
    );
    clock.advance(700_000); // the admitted user's time lapses: a slot is free, and nobody takes it
    expect(await admitQueue(testDeps(db.orm, { clock }), { concertId })).toMatchObject({
      soldOut: true,
      halted: 'SOLD_OUT',
      admittedTickets: [],
    });
    const told = await status(entered[1] as QueueTicket, clock.now());
    expect(told).toMatchObject({ status: 'WAITING', soldOut: true, estimatedWaitSeconds: null });
    expect(await reasonOf(enterQueue(deps(clock), { concertId, userId: crypto.randomUUID() }))).toBe('SOLD_OUT');
    // somebody already in line keeps their place and reads the news
    expect(await enterQueue(deps(clock), { concertId, userId: (entered[2] as QueueTicket).userId })).toMatchObject({
      status: 'WAITING',
      soldOut: true,
    });
    expect((await queueStats(testDeps(db.orm, { clock }), { concertId })).soldOut).toBe(true);

    // seats come back (here a new performance with 50 free seats): the next round clears it and admits
    await sql(`insert into schedule (concert_id, date, starts_at) values (?, '2030-06-02', '2030-06-02T10:00:00Z')`, [concertId]);
    await sql(
      `insert into seat (schedule_id, number, price) select s.id, n, 0 from schedule s, generate_series(1, 50) n where s.concert_id = ? and s.date = '2030-06-02'`,
      [concertId],
    );
    expect(await admitQueue(testDeps(db.orm, { clock }), { concertId })).toMatchObject({
      soldOut: false,
      halted: null,
      admittedTickets: [2],
    });
    expect(await status(entered[2] as QueueTicket, clock.now())).toMatchObject({ status: 'WAITING', soldOut: false });
  });

  it('free seats of a performance that has started do not count: a concert whose dates are all past is sold out', async () => {
    const concertId = await concert(1, ['2030-06-01']);
    await enterMany(concertId, 2);
    const after = manualClock(new Date('2030-06-02T00:00:00Z'));
    expect(await admitQueue(testDeps(db.orm, { clock: after }), { concertId })).toMatchObject({ soldOut: true, admittedTickets: [] });
  });
});
