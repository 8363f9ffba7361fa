import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type MikroORM, openOrm } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import { admitUser, dayFromNow, holdFor } from '../../test/payment-fixtures.ts';
import { payReservation } from '../payment/pay-reservation.ts';
import { testDeps } from '../testing.ts';
import { chargeWallet } from '../wallet/charge-wallet.ts';
import { admitQueue } from './admit-queue.ts';
import { enterQueue } from './enter-queue.ts';
import { leaveQueue } from './leave-queue.ts';
import { purgeFinishedTokens } from './purge-tokens.ts';
import { type QueueTicket, readTicketState } from './ticket.ts';
import { createTokenSigner } from './token-signer.ts';

const HOUR = 3_600;
const tokens = createTokenSigner('purge-tokens-test-secret-0123456789abcdef');

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 10 });
});
afterAll(async () => db?.drop());
// the purge is of every concert: each test counts its own rows only (nothing references a token)
beforeEach(async () => {
  await sql('delete from queue_token');
});

function sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
  return db.orm.em.fork().getConnection().execute<T[]>(query, params);
}

async function concert(options: { maxActive?: number; price?: number } = {}): Promise<string> {
  return (await createConcert(testDeps(db.orm), { title: 'P', venue: 'V', dates: [dayFromNow(30)], ...options })).concertId;
}

async function tickets(concertId: string): Promise<number[]> {
  const rows = await sql<{ ticket: string }>('select ticket from queue_token where concert_id = ? order by ticket', [concertId]);
  return rows.map((row) => Number(row.ticket));
}

/** Fixture: the token(s) finished `seconds` earlier than the database stamped them. */
async function backdate(concertId: string, ticketList: number[], seconds: number): Promise<void> {
  await sql(
    `update queue_token set finished_at = finished_at - make_interval(secs => ?) where concert_id = ? and ticket = any(?::bigint[])`,
    [seconds, concertId, `{${ticketList.join(',')}}`],
  );
}

async function leave(ticket: QueueTicket): Promise<void> {
  const claims = await tokens.verify(ticket.token);
  const state = claims && (await readTicketState(db.orm.em.fork(), claims, new Date()));
  if (!state) throw new Error('unknown token');
  await leaveQueue(testDeps(db.orm), { token: ticket.token, ticket: state });
}

/** Purges in batches of `limit` until a batch comes back short; the size of each batch. */
async function purgeAll(clock: ReturnType<typeof manualClock>, limit: number, orm: MikroORM = db.orm): Promise<number[]> {
  const batches: number[] = [];
  for (;;) {
    const { deleted } = await purgeFinishedTokens({ em: orm.em, clock }, { retentionSeconds: HOUR, limit });
    batches.push(deleted);
    if (deleted < limit) return batches;
  }
}

describe('purgeFinishedTokens (queue.tokens.purge)', () => {
  it('stamps finished_at when a token ends, by any path, and never while it is live', async () => {
    const concertId = await concert({ maxActive: 1 });
    const deps = { ...testDeps(db.orm), tokens };
    await enterQueue(deps, { concertId, userId: crypto.randomUUID() });
    const second = await enterQueue(deps, { concertId, userId: crypto.randomUUID() });
    const clock = manualClock();
    await admitQueue({ ...testDeps(db.orm), clock }, { concertId });
    await leave(second); // a WAITING token leaves: CANCELLED
    clock.advance(3_600_000);
    await admitQueue({ ...testDeps(db.orm), clock }, { concertId }); // the ACTIVE one lapsed: EXPIRED
    const rows = await sql<{ ticket: string; status: string; finished: boolean }>(
      `select ticket, status, finished_at is not null and finished_at > now() - interval '1 minute' as finished
         from queue_token where concert_id = ? order by ticket`,
      [concertId],
    );
    expect(rows.map((r) => [Number(r.ticket), r.status, r.finished])).toEqual([
      [1, 'EXPIRED', true],
      [2, 'CANCELLED', true],
    ]);
    await enterQueue(deps, { concertId, userId: crypto.randomUUID() });
    const [live] = await sql<{ finished_at: Date | null }>('select finished_at from queue_token where concert_id = ? and ticket = 3', [
      concertId,
    ]);
    expect(live).toEqual({ finished_at: null });
  });

  it('deletes finished tokens older than the retention time, oldest first, in batches; keeps live, recent and left-beyond-the-mark tokens', async () => {
    const concertId = await concert({ maxActive: 10 });
    const deps = { ...testDeps(db.orm), tokens };
    const entered: QueueTicket[] = [];
    for (let i = 0; i < 13; i++) entered.push(await enterQueue(deps, { concertId, userId: crypto.randomUUID() }));
    await admitQueue(testDeps(db.orm), { concertId }); // tickets 1–10 ACTIVE, admitted_through 10; 11–13 WAITING
    for (const ticket of [...entered.slice(0, 8), ...entered.slice(11, 12)]) await leave(ticket); // 1–8 and 12 (beyond the mark) leave
    await backdate(concertId, [1, 2, 3, 4, 5, 6, 12], 2 * HOUR);
    await backdate(concertId, [1], 1); // the oldest: the first batch takes it

    const clock = manualClock();
    expect(await purgeFinishedTokens({ em: db.orm.em, clock }, { retentionSeconds: HOUR, limit: 1 })).toEqual({ deleted: 1 });
    expect(await tickets(concertId)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(await purgeAll(clock, 2)).toEqual([2, 2, 1]);
    // 7, 8 finished a moment ago; 9, 10 ACTIVE; 11, 13 WAITING; 12 left while beyond the mark: memory reads it
    expect(await tickets(concertId)).toEqual([7, 8, 9, 10, 11, 12, 13]);

    clock.advance(2 * HOUR * 1000);
    expect(await purgeAll(clock, 100)).toEqual([2]);
    expect(await tickets(concertId)).toEqual([9, 10, 11, 12, 13]);

    // once the mark passes ticket 12 it is an ordinary finished token
    for (const ticket of entered.slice(8, 10)) await leave(ticket); // 9 and 10, ACTIVE
    const round = await admitQueue(testDeps(db.orm), { concertId });
    expect(round?.admittedThrough).toBe(13);
    expect(await purgeAll(clock, 100)).toEqual([3]); // 12 (two hours old), 9 and 10 (older than an hour by the clock)
    expect(await tickets(concertId)).toEqual([11, 13]);
  });

  it('never touches the ledger, payments or reservations, and a paid token goes like any other', async () => {
    const concertId = await concert({ price: 5_000 });
    const deps = testDeps(db.orm);
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 20_000 });
    const { reservationId } = await holdFor(deps, holder, dayFromNow(30), [1, 2]);
    await payReservation(deps, { userId: holder.userId, tokenId: holder.tokenId, reservationId, idempotencyKey: 'k' });
    // fixture: the admitter's mark past the token admitted by the fixture
    await sql('update concert set admitted_through = 1 where id = ?', [concertId]);
    const rest = async () => ({
      ledger: await sql(
        'select * from wallet_transaction w join wallet on wallet.id = w.wallet_id where wallet.user_id = ? order by w.id',
        [holder.userId],
      ),
      payments: await sql('select * from payment where reservation_id = ?', [reservationId]),
      reservations: await sql('select * from reservation where id = ?', [reservationId]),
      seats: await sql('select * from seat where reservation_id = ? order by id', [reservationId]),
      wallet: await sql('select * from wallet where user_id = ?', [holder.userId]),
    });
    const before = await rest();
    expect(before.payments).toHaveLength(1);
    expect(before.ledger).toHaveLength(2);

    const clock = manualClock(new Date(Date.now() + 2 * HOUR * 1000));
    await purgeAll(clock, 100);
    expect(await tickets(concertId)).toEqual([]);
    expect(await rest()).toEqual(before);
  });

  it('two purges at once, on pools of their own, delete each row once and neither fails', async () => {
    const concertId = await concert();
    const total = 3_000;
    await sql(
      `insert into queue_token (concert_id, user_id, ticket, status, finished_at)
       select ?, gen_random_uuid(), n, 'CANCELLED', now() - interval '2 hours' from generate_series(1, ?) n`,
      [concertId, total],
    );
    await sql('update concert set admitted_through = ? where id = ?', [total, concertId]);
    const orms = await Promise.all([0, 1].map(() => openOrm({ databaseUrl: db.url, poolSize: 2 })));
    try {
      const clock = manualClock();
      const runs = await Promise.all(orms.map((orm) => purgeAll(clock, 50, orm)));
      const sums = runs.map((batches) => batches.reduce((a, b) => a + b, 0));
      expect(sums.reduce((a, b) => a + b, 0)).toBe(total);
      // both took part: they ran side by side
      expect(Math.min(...sums)).toBeGreaterThan(0);
      expect(await tickets(concertId)).toEqual([]);
    } finally {
      for (const orm of orms) await orm.close(true);
    }
  });

  it('never waits for a token somebody else has locked: it takes the others', async () => {
    const concertId = await concert();
    await sql(
      `insert into queue_token (concert_id, user_id, ticket, status, finished_at)
       select ?, gen_random_uuid(), n, 'EXPIRED', now() - interval '2 hours' + n * interval '1 second' from generate_series(1, 20) n`,
      [concertId],
    );
    await sql('update concert set admitted_through = 20 where id = ?', [concertId]);
    const other = await openOrm({ databaseUrl: db.url, poolSize: 1 });
    try {
      await other.em.fork().transactional(async (em) => {
        // the five oldest, locked by another transaction until the purge is done
        await em.execute('select id from queue_token where concert_id = ? and ticket <= 5 for update', [concertId]);
        const purged = purgeFinishedTokens({ em: db.orm.em, clock: manualClock() }, { retentionSeconds: HOUR, limit: 100 });
        const bound = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5_000).unref());
        expect(await Promise.race([purged, bound])).toEqual({ deleted: 15 });
      });
      expect(await tickets(concertId)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await other.close(true);
    }
  });
});
