/**
 * What the bench reads and writes straight in the database: its concerts, the pre-filled line of the poll
 * scenario, the samples of ACTIVE tokens, the timestamps behind admission latency and hold-expiry lag.
 * Never on the measured path: the API is measured only through its wire contract.
 */
import {
  ADMITTED_TOKEN_SQL,
  type CreatedConcert,
  createConcert,
  type DomainSettings,
  noJobs,
  SEAT_FREE_SQL,
  systemClock,
} from '@frontrow/core';
import { type MikroORM, ticketSequenceName } from '@frontrow/db';

export type BenchConcertOptions = {
  dates: number;
  maxActive: number;
  activeTtlSeconds: number;
  price: number;
  title: string;
  /** The arrival window (default: the active time, see below). */
  arrivalSeconds?: number;
};

export type ConcertQueueSettings = { maxActive: number; activeTtlSeconds: number };

export type TokenTimes = { ticket: number; status: string; createdAt: number; activatedAt: number | null; activeUntil: number | null };

export type ReservationState = { id: string; status: string; expiresAt: number; seatsStillHeld: number };

export type BenchDatabase = {
  createConcert(options: BenchConcertOptions): Promise<CreatedConcert>;
  queueSettings(concertId: string): Promise<ConcertQueueSettings>;
  /** Puts `count` WAITING tokens of made-up users at the back of the line, with one statement. */
  prefillWaiting(concertId: string, count: number): Promise<void>;
  /** Tokens ACTIVE and not lapsed right now: what `maxActive` bounds. */
  activeCount(concertId: string): Promise<number>;
  tokenTimes(concertId: string): Promise<TokenTimes[]>;
  /** The ticket (place in line) of each user's live token for the concert. */
  tickets(concertId: string, userIds: string[]): Promise<Map<string, number>>;
  /** `paid_at` of every payment for the concert, epoch ms. */
  paymentTimes(concertId: string): Promise<number[]>;
  reservations(ids: string[]): Promise<ReservationState[]>;
  availableSeats(concertId: string): Promise<number>;
  /** Ends the live tokens of a concert the bench made, so its admitter stops working for it. */
  retire(concertId: string): Promise<void>;
  /**
   * Deletes concerts the bench made, with everything of theirs: seats, schedules, reservations, payments,
   * queue tokens, the ticket sequence, and the wallets of their made-up users. One transaction.
   */
  remove(concertIds: string[]): Promise<void>;
  query<T extends object>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The database's clock, epoch ms: expiry and admission timestamps are compared on one clock. */
  now(): Promise<number>;
};

export function benchDatabase(orm: MikroORM, settings: DomainSettings): BenchDatabase {
  const query = async <T extends object>(sql: string, params: unknown[] = []): Promise<T[]> =>
    await orm.em.getConnection().execute<T[]>(sql, params);
  const ms = (value: Date | string | null): number | null => (value === null ? null : new Date(value).getTime());

  return {
    query,
    async createConcert(options) {
      const dates = futureDates(options.dates);
      return await createConcert(
        { em: orm.em, clock: systemClock, jobs: noJobs, settings },
        {
          title: options.title,
          venue: 'bench',
          dates,
          price: options.price,
          maxActive: options.maxActive,
          activeTtlSeconds: options.activeTtlSeconds,
          // the bench's users all come back, but a setup phase may admit them well before their first
          // call: the arrival window spans the whole admission so none is freed as a no-show
          arrivalSeconds: options.arrivalSeconds ?? options.activeTtlSeconds,
        },
      );
    },
    async queueSettings(concertId) {
      const [row] = await query<{ max_active: number; active_ttl_seconds: number }>(
        'select max_active, active_ttl_seconds from concert where id = ?',
        [concertId],
      );
      if (!row) throw new Error(`concert ${concertId} does not exist`);
      return { maxActive: row.max_active, activeTtlSeconds: row.active_ttl_seconds };
    },
    async prefillWaiting(concertId, count) {
      await query(
        `insert into queue_token (concert_id, user_id, ticket, status)
         select ?, gen_random_uuid(), nextval(?::regclass), 'WAITING' from generate_series(1, ?)`,
        [concertId, ticketSequenceName(concertId), count],
      );
      await query('analyze queue_token');
    },
    async activeCount(concertId) {
      const [row] = await query<{ n: string }>(
        `select count(*) as n from queue_token t where t.concert_id = ? and ${ADMITTED_TOKEN_SQL('t', 'now()')}`,
        [concertId],
      );
      return Number(row?.n ?? 0);
    },
    async tokenTimes(concertId) {
      const rows = await query<{ ticket: string; status: string; created_at: Date; activated_at: Date | null; active_until: Date | null }>(
        'select ticket, status, created_at, activated_at, active_until from queue_token where concert_id = ? order by ticket',
        [concertId],
      );
      return rows.map((r) => ({
        ticket: Number(r.ticket),
        status: r.status,
        createdAt: ms(r.created_at) ?? 0,
        activatedAt: ms(r.activated_at),
        activeUntil: ms(r.active_until),
      }));
    },
    async tickets(concertId, userIds) {
      const rows = await query<{ user_id: string; ticket: string }>(
        `select user_id, ticket from queue_token where concert_id = ? and status in ('WAITING', 'ACTIVE') and user_id = any(?::uuid[])`,
        [concertId, `{${userIds.join(',')}}`],
      );
      return new Map(rows.map((r) => [r.user_id, Number(r.ticket)]));
    },
    async paymentTimes(concertId) {
      const rows = await query<{ paid_at: Date }>(
        'select p.paid_at from payment p join reservation r on r.id = p.reservation_id where r.concert_id = ?',
        [concertId],
      );
      return rows.map((r) => new Date(r.paid_at).getTime());
    },
    async reservations(ids) {
      if (ids.length === 0) return [];
      const rows = await query<{ id: string; status: string; expires_at: Date; held: string }>(
        `select r.id, r.status, r.expires_at, (select count(*) from seat s where s.reservation_id = r.id and s.status = 'HELD') as held
           from reservation r where r.id = any(?::bigint[])`,
        [`{${ids.join(',')}}`],
      );
      return rows.map((r) => ({
        id: String(r.id),
        status: r.status,
        expiresAt: new Date(r.expires_at).getTime(),
        seatsStillHeld: Number(r.held),
      }));
    },
    async availableSeats(concertId) {
      const [row] = await query<{ n: string }>(
        `select count(*) as n from seat s join schedule d on d.id = s.schedule_id
          where d.concert_id = ? and ${SEAT_FREE_SQL('s', 'now()')}`,
        [concertId],
      );
      return Number(row?.n ?? 0);
    },
    async retire(concertId) {
      await orm.em.transactional(async (em) => {
        const run = async (sql: string) => await em.getConnection().execute(sql, [concertId], 'run', em.getTransactionContext());
        // after the admission round under way (it locks the same rows in another order: a deadlock with a
        // line of a million tokens being ended, otherwise)
        await run('select pg_advisory_xact_lock(?::bigint)');
        await run(
          `update queue_token set status = 'CANCELLED', version = version + 1 where concert_id = ? and status in ('WAITING', 'ACTIVE')`,
        );
      });
      // fresh statistics: the planner must not go on believing in a pre-filled line that is gone
      await query('analyze queue_token');
    },
    async remove(concertIds) {
      if (concertIds.length === 0) return;
      const ids = `{${concertIds.join(',')}}`;
      await orm.em.transactional(async (em) => {
        const run = async (sql: string, params: unknown[] = [ids]) =>
          await em.getConnection().execute(sql, params, 'run', em.getTransactionContext());
        // the admission rounds of these concerts wait, then find no concert (a round of an unknown concert does nothing)
        await run('select pg_advisory_xact_lock(id) from unnest(?::bigint[]) as id order by id');
        const users = 'select user_id from queue_token where concert_id = any(?::bigint[])';
        await run(`delete from wallet_transaction t using wallet w where t.wallet_id = w.id and w.user_id in (${users})`);
        await run(`delete from wallet where user_id in (${users})`);
        await run('delete from payment p using reservation r where p.reservation_id = r.id and r.concert_id = any(?::bigint[])');
        await run('delete from seat s using schedule d where s.schedule_id = d.id and d.concert_id = any(?::bigint[])');
        await run('delete from reservation where concert_id = any(?::bigint[])');
        await run('delete from schedule where concert_id = any(?::bigint[])');
        await run('delete from queue_token where concert_id = any(?::bigint[])');
        await run('delete from concert where id = any(?::bigint[])');
        for (const concertId of concertIds) await run(`drop sequence if exists ${ticketSequenceName(concertId)}`, []);
      });
    },
    async now() {
      const [row] = await query<{ now: Date }>('select clock_timestamp() as now');
      return row ? new Date(row.now).getTime() : Date.now();
    },
  };
}

/** `count` consecutive dates starting 30 days from today (UTC): performances in the future, as `availableDates` lists. */
export function futureDates(count: number, today: Date = new Date()): string[] {
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 30);
  return Array.from({ length: count }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}
