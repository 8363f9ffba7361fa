import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OptimisticLockError } from '@mikro-orm/postgresql';
import { Wallet } from './entities/index.ts';
import { migrate } from './migrate.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let db: TestDatabase;
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return db.orm.em.getConnection().execute<T[]>(query, params);
}

const uuid = () => crypto.randomUUID();

async function concert(): Promise<string> {
  const [row] = await sql<{ id: string }>(
    `insert into concert (title, venue, max_active, active_ttl_seconds) values ('c', 'v', 10, 600) returning id`,
  );
  if (!row) throw new Error('no concert');
  return String(row.id);
}

async function schedule(concertId: string): Promise<string> {
  n += 1;
  const [row] = await sql<{ id: string }>(
    `insert into schedule (concert_id, date, starts_at) values (?, date '2030-01-01' + ?::int, now()) returning id`,
    [concertId, n],
  );
  if (!row) throw new Error('no schedule');
  return String(row.id);
}

async function reservation(concertId: string, scheduleId: string, status = 'HELD'): Promise<string> {
  const [row] = await sql<{ id: string }>(
    `insert into reservation (user_id, concert_id, schedule_id, seat_numbers, total_price, status, expires_at)
     values (?, ?, ?, '{1}', 1000, ?, now() + interval '5 minutes') returning id`,
    [uuid(), concertId, scheduleId, status],
  );
  if (!row) throw new Error('no reservation');
  return String(row.id);
}

describe('migrations', () => {
  it('create the whole schema from an empty database, and a second run applies nothing', async () => {
    const tables = await sql<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    );
    expect(tables.map((r) => r.table_name)).toEqual([
      'concert',
      'mikro_orm_migrations',
      'payment',
      'queue_token',
      'reservation',
      'schedule',
      'seat',
      'wallet',
      'wallet_transaction',
    ]);
    const indexes = await sql<{ indexname: string }>(`select indexname from pg_indexes where schemaname = 'public'`);
    expect(indexes.map((i) => i.indexname)).toEqual(
      expect.arrayContaining([
        'queue_token_live_per_user',
        'queue_token_waiting',
        'queue_token_active',
        'reservation_held_expires_at',
        'seat_schedule_id_number_unique',
      ]),
    );
    expect(await migrate(db.orm)).toEqual({ applied: [] });
  });
});

describe('database constraints back the invariants', () => {
  it('a seat number exists once per schedule', async () => {
    const scheduleId = await schedule(await concert());
    await sql(`insert into seat (schedule_id, number, price) values (?, 7, 1000)`, [scheduleId]);
    await expect(sql(`insert into seat (schedule_id, number, price) values (?, 7, 1000)`, [scheduleId])).rejects.toThrow(
      /seat_schedule_id_number_unique/,
    );
  });

  it('seat numbers stay within 1…50', async () => {
    const scheduleId = await schedule(await concert());
    await expect(sql(`insert into seat (schedule_id, number, price) values (?, 51, 1000)`, [scheduleId])).rejects.toThrow(
      /check constraint/,
    );
    await expect(sql(`insert into seat (schedule_id, number, price) values (?, 0, 1000)`, [scheduleId])).rejects.toThrow(
      /check constraint/,
    );
  });

  it('a held or sold seat points at a reservation, an available one at none', async () => {
    const concertId = await concert();
    const scheduleId = await schedule(concertId);
    await expect(
      sql(`insert into seat (schedule_id, number, price, status, held_until) values (?, 1, 1000, 'HELD', now())`, [scheduleId]),
    ).rejects.toThrow(/seat_owner_matches_status/);
    const reservationId = await reservation(concertId, scheduleId);
    await expect(
      sql(`insert into seat (schedule_id, number, price, status, reservation_id) values (?, 2, 1000, 'HELD', ?)`, [
        scheduleId,
        reservationId,
      ]),
    ).rejects.toThrow(/seat_hold_has_expiry/);
  });

  it('a sold seat stays sold to its reservation', async () => {
    const concertId = await concert();
    const scheduleId = await schedule(concertId);
    const sold = await reservation(concertId, scheduleId, 'CONFIRMED');
    const other = await reservation(concertId, scheduleId);
    await sql(`insert into seat (schedule_id, number, price, status, reservation_id) values (?, 3, 1000, 'RESERVED', ?)`, [
      scheduleId,
      sold,
    ]);
    await expect(
      sql(`update seat set status = 'AVAILABLE', reservation_id = null where schedule_id = ? and number = 3`, [scheduleId]),
    ).rejects.toThrow(/sold and cannot change hands/);
    await expect(
      sql(`update seat set status = 'HELD', reservation_id = ?, held_until = now() where schedule_id = ? and number = 3`, [
        other,
        scheduleId,
      ]),
    ).rejects.toThrow(/sold and cannot change hands/);
    await expect(sql(`update seat set reservation_id = ? where schedule_id = ? and number = 3`, [other, scheduleId])).rejects.toThrow(
      /sold and cannot change hands/,
    );
  });

  it('a wallet balance never goes below zero', async () => {
    const userId = uuid();
    await sql(`insert into wallet (user_id, balance) values (?, 500)`, [userId]);
    await expect(sql(`update wallet set balance = balance - 501 where user_id = ?`, [userId])).rejects.toThrow(
      /wallet_balance_not_negative/,
    );
    await expect(sql(`insert into wallet (user_id, balance) values (?, 0)`, [userId])).rejects.toThrow(/wallet_user_id_unique/);
  });

  it('a reservation is paid at most once', async () => {
    const concertId = await concert();
    const reservationId = await reservation(concertId, await schedule(concertId));
    const pay = () =>
      sql(`insert into payment (reservation_id, user_id, amount, paid_at) values (?, ?, 1000, now())`, [reservationId, uuid()]);
    await pay();
    await expect(pay()).rejects.toThrow(/payment_reservation_id_unique/);
  });

  it('an idempotency key is used once per user for payments and once per wallet for charges', async () => {
    const concertId = await concert();
    const scheduleId = await schedule(concertId);
    const userId = uuid();
    const [first, second] = [await reservation(concertId, scheduleId), await reservation(concertId, scheduleId)];
    await sql(`insert into payment (reservation_id, user_id, amount, idempotency_key, paid_at) values (?, ?, 1000, 'k1', now())`, [
      first,
      userId,
    ]);
    await expect(
      sql(`insert into payment (reservation_id, user_id, amount, idempotency_key, paid_at) values (?, ?, 1000, 'k1', now())`, [
        second,
        userId,
      ]),
    ).rejects.toThrow(/payment_user_idempotency_key/);

    const [wallet] = await sql<{ id: string }>(`insert into wallet (user_id, balance) values (?, 0) returning id`, [uuid()]);
    const charge = () =>
      sql(`insert into wallet_transaction (wallet_id, type, amount, balance_after, idempotency_key) values (?, 'CHARGE', 100, 100, 'c1')`, [
        wallet?.id,
      ]);
    await charge();
    await expect(charge()).rejects.toThrow(/wallet_transaction_idempotency_key/);
  });

  it('a user has at most one live (WAITING or ACTIVE) token per concert, and may enter again once it ended', async () => {
    const concertId = await concert();
    const userId = uuid();
    const enter = (ticket: number, status = 'WAITING') =>
      sql(`insert into queue_token (concert_id, user_id, ticket, status, active_until) values (?, ?, ?, ?, now())`, [
        concertId,
        userId,
        ticket,
        status,
      ]);
    await enter(1);
    await expect(enter(2)).rejects.toThrow(/queue_token_live_per_user/);
    await expect(enter(3, 'ACTIVE')).rejects.toThrow(/queue_token_live_per_user/);
    await sql(`update queue_token set status = 'COMPLETED' where concert_id = ? and user_id = ?`, [concertId, userId]);
    await enter(4);
    await expect(sql(`insert into queue_token (concert_id, user_id, ticket) values (?, ?, 4)`, [concertId, uuid()])).rejects.toThrow(
      /queue_token_concert_ticket_unique/,
    );
  });
});

describe('optimistic locking', () => {
  it('the second of two units of work changing one versioned row fails with OptimisticLockError', async () => {
    const userId = uuid();
    await sql(`insert into wallet (user_id, balance) values (?, 100)`, [userId]);
    const first = db.orm.em.fork();
    const second = db.orm.em.fork();
    const a = await first.findOneOrFail(Wallet, { userId });
    const b = await second.findOneOrFail(Wallet, { userId });
    a.credit(10);
    b.credit(20);
    await first.flush();
    await expect(second.flush()).rejects.toBeInstanceOf(OptimisticLockError);
    const [row] = await sql<{ balance: string; version: number }>(`select balance, version from wallet where user_id = ?`, [userId]);
    expect(Number(row?.balance)).toBe(110);
    expect(row?.version).toBe(2);
  });

  it('a flush changing several versioned rows fails as a whole when another transaction changed them first', async () => {
    // MikroORM batches multi-row updates unless told not to; a batch would update `where id in (…)`
    // after a version check that a concurrent, not yet committed writer can slip past.
    const users = [uuid(), uuid()];
    for (const userId of users) await sql(`insert into wallet (user_id, balance) values (?, 0)`, [userId]);
    const first = db.orm.em.fork();
    await first.begin();
    for (const wallet of await first.find(Wallet, { userId: { $in: users } })) wallet.credit(1);
    await first.flush(); // rows now locked by an open transaction

    const second = db.orm.em.fork();
    for (const wallet of await second.find(Wallet, { userId: { $in: users } })) wallet.credit(100);
    const flushing = second.flush().then(
      () => 'flushed',
      (error: unknown) => error,
    );
    // wait until the second writer is blocked on the first one's row locks, then let the first commit
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const [row] = await sql<{ n: string }>(
        `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
      );
      if (Number(row?.n) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await first.commit();
    expect(await flushing).toBeInstanceOf(OptimisticLockError);
    const rows = await sql<{ balance: string }>(`select balance from wallet where user_id in (?, ?)`, users);
    expect(rows.map((r) => Number(r.balance))).toEqual([1, 1]);
  });
});
