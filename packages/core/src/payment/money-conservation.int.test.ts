import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import type { Deps } from '../deps.ts';
import { type ErrorReason, isDomainError } from '../errors.ts';
import { testDeps } from '../testing.ts';
import { chargeWallet } from '../wallet/charge-wallet.ts';
import { payReservation } from './pay-reservation.ts';
import { expireHold } from '../booking/expire-hold.ts';
import { type Admitted, admitUser, dayFromNow, holdFor } from '../../test/payment-fixtures.ts';

const USERS = 8;
const CONCERTS = 3;
const DATE = dayFromNow(30);
const PRICE = 10_000;

let db: TestDatabase;
let deps: Deps;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 24 });
  deps = testDeps(db.orm);
});
afterAll(async () => db?.drop());

/** Deterministic randomness, so a failing run can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return await db.orm.em.getConnection().execute<T[]>(sql, params);
}

describe('money conservation', () => {
  it('after many users charge, pay, replay and race expiry at once, every wallet, payment and seat adds up', async () => {
    const seed = Date.now();
    const random = mulberry32(seed);
    // the expiry worker runs on a clock past every hold, so each expiry attempt races the payments
    const worker = testDeps(db.orm, { clock: manualClock(new Date(Date.now() + 3_600_000)) });

    const concerts: string[] = [];
    for (let c = 0; c < CONCERTS; c++)
      concerts.push((await createConcert(deps, { title: `C${c}`, venue: 'V', dates: [DATE], price: PRICE })).concertId);
    const users = Array.from({ length: USERS }, () => crypto.randomUUID());
    const holds: { holder: Admitted; reservationId: string }[] = [];
    for (const concertId of concerts) {
      let nextSeat = 1;
      for (const userId of users) {
        const holder = await admitUser(deps, concertId, { userId });
        for (let r = 0; r < 2; r++) {
          const seats = random() < 0.5 ? [nextSeat] : [nextSeat, nextSeat + 1];
          nextSeat += seats.length;
          holds.push({ holder, reservationId: (await holdFor(deps, holder, DATE, seats)).reservationId });
        }
      }
    }

    const charged = new Map<string, { userId: string; amount: number }>();
    const paid = new Map<string, { userId: string; reservationId: string; amount: number }>();
    const reasons: (ErrorReason | 'OK')[] = [];
    const settle = async (work: () => Promise<void>) => {
      try {
        await work();
        reasons.push('OK');
      } catch (error) {
        if (!isDomainError(error)) throw error;
        reasons.push(error.reason);
      }
    };
    const operations: (() => Promise<void>)[] = [];
    let keys = 0;
    for (const userId of users) {
      for (let i = 0; i < 5; i++) {
        const amount = 1_000 * (1 + Math.floor(random() * 25));
        const idempotencyKey = random() < 0.5 ? `charge-${keys++}` : undefined;
        const copies = idempotencyKey && random() < 0.5 ? 2 : 1; // a client retrying a charge
        for (let copy = 0; copy < copies; copy++) {
          operations.push(() =>
            settle(async () => {
              const result = await chargeWallet(deps, { userId, amount, idempotencyKey });
              const earlier = charged.get(result.transactionId);
              if (earlier) expect(earlier.amount).toBe(amount);
              charged.set(result.transactionId, { userId, amount });
            }),
          );
        }
      }
    }
    for (const { holder, reservationId } of holds) {
      const attempts = 1 + Math.floor(random() * 3);
      for (let i = 0; i < attempts; i++) {
        // a retry with the same key, or a second tab with a key of its own
        const idempotencyKey = i > 0 && random() < 0.5 ? `pay-${reservationId}-0` : `pay-${reservationId}-${i}`;
        operations.push(() =>
          settle(async () => {
            const receipt = await payReservation(deps, { userId: holder.userId, tokenId: holder.tokenId, reservationId, idempotencyKey });
            paid.set(receipt.paymentId, { userId: holder.userId, reservationId, amount: receipt.amount });
          }),
        );
      }
      if (random() < 0.25) operations.push(() => settle(async () => void (await expireHold(worker, reservationId))));
    }
    for (let i = operations.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [operations[i], operations[j]] = [operations[j] as () => Promise<void>, operations[i] as () => Promise<void>];
    }
    await Promise.all(operations.map((operation) => operation()));

    const context = `seed ${seed}`;
    const expected: ErrorReason[] = ['INSUFFICIENT_BALANCE', 'TOKEN_EXPIRED', 'RESERVATION_NOT_PAYABLE'];
    expect(
      reasons.filter((reason) => reason !== 'OK' && !expected.includes(reason)),
      context,
    ).toEqual([]);
    expect(paid.size, context).toBeGreaterThan(0);

    // every wallet: balance = Σ CHARGE − Σ PAYMENT + Σ REFUND = the ledger's last balanceAfter, each row following the one before
    const wallets = await query<{ id: string; user_id: string; balance: string }>(`select id, user_id, balance from wallet`);
    expect(wallets).toHaveLength(USERS);
    for (const wallet of wallets) {
      const ledger = await query<{ type: string; amount: string; balance_after: string }>(
        `select type, amount, balance_after from wallet_transaction where wallet_id = ? order by id`,
        [wallet.id],
      );
      let running = 0;
      for (const row of ledger) {
        running += row.type === 'PAYMENT' ? -Number(row.amount) : Number(row.amount);
        expect(Number(row.balance_after), context).toBe(running);
        expect(running, context).toBeGreaterThanOrEqual(0);
      }
      expect(Number(wallet.balance), context).toBe(running);
      // nothing lost or doubled: the ledger holds exactly the charges and payments that were answered
      const answeredCharges = [...charged.values()].filter((c) => c.userId === wallet.user_id).reduce((sum, c) => sum + c.amount, 0);
      const answeredPayments = [...paid.values()].filter((p) => p.userId === wallet.user_id).reduce((sum, p) => sum + p.amount, 0);
      const charges = ledger.filter((row) => row.type === 'CHARGE').reduce((sum, row) => sum + Number(row.amount), 0);
      const payments = ledger.filter((row) => row.type === 'PAYMENT').reduce((sum, row) => sum + Number(row.amount), 0);
      expect(charges, context).toBe(answeredCharges);
      expect(payments, context).toBe(answeredPayments);
    }

    // every CONFIRMED reservation has exactly one payment of its total, and only those have payments
    const confirmed = await query<{ id: string; total_price: number; payments: string; paid: string | null }>(
      `select r.id, r.total_price, count(p.id) as payments, sum(p.amount) as paid
         from reservation r left join payment p on p.reservation_id = r.id
        where r.status = 'CONFIRMED' group by r.id`,
    );
    for (const row of confirmed) {
      expect(Number(row.payments), context).toBe(1);
      expect(Number(row.paid), context).toBe(row.total_price);
    }
    expect(confirmed.map((r) => r.id).sort(), context).toEqual([...paid.values()].map((p) => p.reservationId).sort());
    const [stray] = await query<{ n: string }>(
      `select count(*) as n from payment p join reservation r on r.id = p.reservation_id where r.status <> 'CONFIRMED'`,
    );
    expect(Number(stray?.n), context).toBe(0);

    // one payment per (user, concert): paying completes the token
    const [twice] = await query<{ n: string }>(
      `select count(*) as n from (select r.user_id, r.concert_id from payment p join reservation r on r.id = p.reservation_id group by 1, 2 having count(*) > 1) x`,
    );
    expect(Number(twice?.n), context).toBe(0);

    // no seat in two CONFIRMED reservations; a CONFIRMED reservation's seats are RESERVED to it
    const [doubleSold] = await query<{ n: string }>(
      `select count(*) as n from (select r.schedule_id, n from reservation r, unnest(r.seat_numbers) n where r.status = 'CONFIRMED' group by 1, 2 having count(*) > 1) x`,
    );
    expect(Number(doubleSold?.n), context).toBe(0);
    const [unsold] = await query<{ n: string }>(
      `select count(*) as n from reservation r, unnest(r.seat_numbers) n
        where r.status = 'CONFIRMED'
          and not exists (select 1 from seat s where s.schedule_id = r.schedule_id and s.number = n and s.status = 'RESERVED' and s.reservation_id = r.id)`,
    );
    expect(Number(unsold?.n), context).toBe(0);
    // an EXPIRED reservation keeps no seat
    const [kept] = await query<{ n: string }>(
      `select count(*) as n from seat s join reservation r on r.id = s.reservation_id where r.status = 'EXPIRED'`,
    );
    expect(Number(kept?.n), context).toBe(0);
  });
});
