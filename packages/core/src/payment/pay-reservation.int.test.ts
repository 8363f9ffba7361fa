import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { QueueToken, Reservation } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { manualClock } from '../clock.ts';
import { createConcert } from '../concert/create-concert.ts';
import type { Deps } from '../deps.ts';
import { type ErrorReason, isDomainError } from '../errors.ts';
import type { JobScheduler } from '../jobs.ts';
import { testDeps } from '../testing.ts';
import { chargeWallet } from '../wallet/charge-wallet.ts';
import { readBalance } from '../wallet/read-balance.ts';
import { type PaymentReceipt, payReservation } from './pay-reservation.ts';
import { expireHold } from '../booking/expire-hold.ts';
import { type Admitted, admitUser, dayFromNow, holdFor, waitingUser } from '../../test/payment-fixtures.ts';

const DATE = dayFromNow(30);
const DATE2 = dayFromNow(31);
const DATE3 = dayFromNow(32);
const PRICE = 50_000;

let db: TestDatabase;
let deps: Deps;
const nudges: string[] = [];
const jobs: JobScheduler = {
  expireHoldAt: async () => {},
  nudgeAdmission: async (concertId) => {
    nudges.push(concertId);
  },
};

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 24 });
  deps = testDeps(db.orm, { jobs });
});
afterAll(async () => db?.drop());

async function newConcert(price = PRICE, dates = [DATE]): Promise<string> {
  return (await createConcert(deps, { title: 'Payday', venue: 'Hall', dates, price })).concertId;
}

function pay(holder: Admitted, reservationId: string, idempotencyKey?: string, on: Deps = deps): Promise<PaymentReceipt> {
  return payReservation(on, { userId: holder.userId, tokenId: holder.tokenId, reservationId, idempotencyKey });
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

async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return await db.orm.em.getConnection().execute<T[]>(sql, params);
}

async function snapshot(userId: string, reservationId: string) {
  const [reservation] = await query<{ status: string }>(`select status from reservation where id = ?`, [reservationId]);
  const seats = await query<{ status: string }>(`select status from seat where reservation_id = ? order by number`, [reservationId]);
  const [payments] = await query<{ n: string }>(`select count(*) as n from payment where reservation_id = ?`, [reservationId]);
  const ledger = await query<{ type: string; amount: string }>(
    `select t.type, t.amount from wallet_transaction t join wallet w on w.id = t.wallet_id where w.user_id = ? order by t.id`,
    [userId],
  );
  return {
    reservation: reservation?.status,
    seats: seats.map((s) => s.status),
    payments: Number(payments?.n),
    balance: (await readBalance(deps, { userId })).balance,
    ledger: ledger.map((row) => `${row.type} ${row.amount}`),
  };
}

async function tokenStatus(tokenId: string): Promise<string> {
  return (await db.orm.em.fork().findOneOrFail(QueueToken, { id: tokenId })).status;
}

describe('payments.pay', () => {
  it('debits the wallet, sells the seats, confirms the reservation, records the payment and completes the token, then nudges admission', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 120_000 });
    const { reservationId } = await holdFor(deps, holder, DATE, [3, 4]);
    await waitingUser(deps, concertId);
    nudges.length = 0;

    const receipt = await pay(holder, reservationId);

    expect(receipt).toMatchObject({ reservationId, amount: 100_000, balance: 20_000 });
    expect(receipt.paymentId).toMatch(/^\d+$/);
    expect(Number.isNaN(Date.parse(receipt.paidAt))).toBe(false);
    expect(await snapshot(holder.userId, reservationId)).toEqual({
      reservation: 'CONFIRMED',
      seats: ['RESERVED', 'RESERVED'],
      payments: 1,
      balance: 20_000,
      ledger: ['CHARGE 120000', 'PAYMENT 100000'],
    });
    const [ledgerRow] = await query<{ balance_after: string }>(
      `select balance_after from wallet_transaction where type = 'PAYMENT' and wallet_id = (select id from wallet where user_id = ?)`,
      [holder.userId],
    );
    expect(Number(ledgerRow?.balance_after)).toBe(20_000);
    expect(await tokenStatus(holder.tokenId)).toBe('COMPLETED');
    expect(nudges).toEqual([concertId]);
  });

  it("releases the user's other live holds in the concert in the same transaction: their seats are AVAILABLE at once", async () => {
    const concertId = await newConcert(PRICE, [DATE, DATE2]);
    const otherConcert = await newConcert();
    const holder = await admitUser(deps, concertId);
    const elsewhere = await admitUser(deps, otherConcert, { userId: holder.userId });
    const stranger = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 500_000 });
    const paid = await holdFor(deps, holder, DATE, [10]);
    const sameDate = await holdFor(deps, holder, DATE, [11, 12]);
    const otherDate = await holdFor(deps, holder, DATE2, [13]);
    const inOtherConcert = await holdFor(deps, elsewhere, DATE, [10]);
    const strangers = await holdFor(deps, stranger, DATE, [14]);

    await pay(holder, paid.reservationId);

    const statuses = await query<{ id: string; status: string }>(
      `select id, status from reservation where id in (?, ?, ?, ?, ?) order by id`,
      [paid.reservationId, sameDate.reservationId, otherDate.reservationId, inOtherConcert.reservationId, strangers.reservationId],
    );
    expect(Object.fromEntries(statuses.map((r) => [String(r.id), r.status]))).toEqual({
      [paid.reservationId]: 'CONFIRMED',
      [sameDate.reservationId]: 'CANCELLED',
      [otherDate.reservationId]: 'CANCELLED',
      [inOtherConcert.reservationId]: 'HELD',
      [strangers.reservationId]: 'HELD',
    });
    const seats = await query<{ number: number; date: string; status: string; reservation_id: string | null; held_until: Date | null }>(
      `select s.number, to_char(d.date, 'YYYY-MM-DD') as date, s.status, s.reservation_id, s.held_until
         from seat s join schedule d on d.id = s.schedule_id where d.concert_id = ? and s.number between 10 and 14 order by d.date, s.number`,
      [concertId],
    );
    expect(seats.filter((s) => s.date === DATE).map((s) => [s.number, s.status])).toEqual([
      [10, 'RESERVED'],
      [11, 'AVAILABLE'],
      [12, 'AVAILABLE'],
      [13, 'AVAILABLE'],
      [14, 'HELD'],
    ]);
    expect(seats.find((s) => s.date === DATE2 && s.number === 13)).toMatchObject({
      status: 'AVAILABLE',
      reservation_id: null,
      held_until: null,
    });
    // the released seats are someone else's to hold now, long before the holds would have lapsed
    const next = await admitUser(deps, concertId);
    expect((await holdFor(deps, next, DATE, [11, 12])).reservationId).toMatch(/^\d+$/);
    // and the user's own spending is untouched beyond the one payment
    expect((await readBalance(deps, { userId: holder.userId })).balance).toBe(500_000 - PRICE);
  });

  it('asks for no admission round when nobody waits in line: the slot it frees has no taker yet', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [5]);
    nudges.length = 0;

    expect(await pay(holder, reservationId)).toMatchObject({ reservationId, balance: 0 });
    expect(nudges).toEqual([]);
  });

  it('nudges admission only after the payment committed: the next user is admitted into a slot that is really free', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [8]);
    await waitingUser(deps, concertId);
    const seenByNudge: string[] = [];
    const watching = testDeps(db.orm, {
      jobs: { expireHoldAt: async () => {}, nudgeAdmission: async () => void seenByNudge.push(await tokenStatus(holder.tokenId)) },
    });
    await pay(holder, reservationId, undefined, watching);
    expect(seenByNudge).toEqual(['COMPLETED']);
  });

  it('a failing nudge does not fail a committed payment', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [9]);
    await waitingUser(deps, concertId);
    let asked = 0;
    const broken = testDeps(db.orm, {
      jobs: {
        expireHoldAt: async () => {},
        nudgeAdmission: async () => {
          asked++;
          throw new Error('job queue down');
        },
      },
    });
    expect(await pay(holder, reservationId, undefined, broken)).toMatchObject({ reservationId, balance: 0 });
    expect((await snapshot(holder.userId, reservationId)).reservation).toBe('CONFIRMED');
    expect(asked).toBe(1);
  });

  it("a reservation that does not exist, or is another user's, is RESERVATION_NOT_FOUND", async () => {
    const concertId = await newConcert();
    const owner = await admitUser(deps, concertId);
    const other = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: other.userId, amount: PRICE });
    const { reservationId } = await holdFor(deps, owner, DATE, [1]);
    expect(await reasonOf(pay(other, reservationId))).toBe('RESERVATION_NOT_FOUND');
    expect(await reasonOf(pay(other, '999999999'))).toBe('RESERVATION_NOT_FOUND');
    expect((await snapshot(owner.userId, reservationId)).reservation).toBe('HELD');
    expect((await readBalance(deps, { userId: other.userId })).balance).toBe(PRICE);
  });

  it('a CANCELLED, EXPIRED or already CONFIRMED reservation is RESERVATION_NOT_PAYABLE, and no money moves', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 10 * PRICE });
    const cancelled = await holdFor(deps, holder, DATE, [1]);
    const expired = await holdFor(deps, holder, DATE, [2]);
    const paid = await holdFor(deps, holder, DATE, [3]);
    await db.orm.em.fork().nativeUpdate(Reservation, { id: cancelled.reservationId }, { status: 'CANCELLED' });
    await db.orm.em.fork().nativeUpdate(Reservation, { id: expired.reservationId }, { status: 'EXPIRED' });
    await pay(holder, paid.reservationId, 'first');
    const balance = (await readBalance(deps, { userId: holder.userId })).balance;

    expect(await reasonOf(pay(holder, cancelled.reservationId))).toBe('RESERVATION_NOT_PAYABLE');
    expect(await reasonOf(pay(holder, expired.reservationId))).toBe('RESERVATION_NOT_PAYABLE');
    expect(await reasonOf(pay(holder, paid.reservationId))).toBe('RESERVATION_NOT_PAYABLE');
    expect(await reasonOf(pay(holder, paid.reservationId, 'second'))).toBe('RESERVATION_NOT_PAYABLE');
    expect((await readBalance(deps, { userId: holder.userId })).balance).toBe(balance);
    expect((await snapshot(holder.userId, paid.reservationId)).payments).toBe(1);
  });

  it('a hold past its expiry is HOLD_EXPIRED before the worker runs, and no money moves', async () => {
    const clock = manualClock(new Date());
    const clocked = testDeps(db.orm, { clock, jobs });
    const concertId = await newConcert();
    const holder = await admitUser(clocked, concertId, { activeSeconds: 3_600 });
    await chargeWallet(clocked, { userId: holder.userId, amount: PRICE });
    const { reservationId, expiresAt } = await holdFor(clocked, holder, DATE, [7]);
    clock.set(expiresAt);
    expect(await reasonOf(pay(holder, reservationId, undefined, clocked))).toBe('HOLD_EXPIRED');
    expect(await snapshot(holder.userId, reservationId)).toMatchObject({
      reservation: 'HELD',
      seats: ['HELD'],
      payments: 0,
      balance: PRICE,
    });
    expect(await tokenStatus(holder.tokenId)).toBe('ACTIVE');
  });

  it('a lapsed hold whose seat another user took is not payable, even from a process whose clock lags behind', async () => {
    const clock = manualClock(new Date());
    const clocked = testDeps(db.orm, { clock, jobs });
    const concertId = await newConcert();
    const late = await admitUser(clocked, concertId, { activeSeconds: 3_600 });
    const next = await admitUser(clocked, concertId, { activeSeconds: 3_600 });
    await chargeWallet(clocked, { userId: late.userId, amount: 2 * PRICE });
    const { reservationId, expiresAt } = await holdFor(clocked, late, DATE, [9, 10]);
    // past the expiry, another user takes seat 10 before any worker expired the old hold
    clock.set(new Date(expiresAt.getTime() + 1));
    await holdFor(clocked, next, DATE, [10]);
    // a process whose clock still reads before the expiry tries to pay the old hold
    clock.set(new Date(expiresAt.getTime() - 1));
    expect(await reasonOf(pay(late, reservationId, undefined, clocked))).toBe('RESERVATION_NOT_PAYABLE');
    expect(await snapshot(late.userId, reservationId)).toMatchObject({ reservation: 'EXPIRED', payments: 0, balance: 2 * PRICE });
  });

  it('a hold that no longer has all its seats is HOLD_EXPIRED, not an internal error, and sells nothing', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 2 * PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [13, 14]);
    // a state booking never leaves behind, written by hand: seat 14 let go while the reservation stays HELD
    await query(
      `update seat set status = 'AVAILABLE', reservation_id = null, held_until = null, version = version + 1 where reservation_id = ? and number = 14`,
      [reservationId],
    );
    expect(await reasonOf(pay(holder, reservationId))).toBe('HOLD_EXPIRED');
    expect(await snapshot(holder.userId, reservationId)).toMatchObject({
      reservation: 'HELD',
      seats: ['HELD'],
      payments: 0,
      balance: 2 * PRICE,
    });
  });

  it('a balance below the total is INSUFFICIENT_BALANCE, with or without a wallet, and nothing changes', async () => {
    const concertId = await newConcert();
    const broke = await admitUser(deps, concertId);
    const short = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: short.userId, amount: PRICE - 1 });
    const a = await holdFor(deps, broke, DATE, [1]);
    const b = await holdFor(deps, short, DATE, [2]);
    expect(await reasonOf(pay(broke, a.reservationId))).toBe('INSUFFICIENT_BALANCE');
    expect(await reasonOf(pay(short, b.reservationId))).toBe('INSUFFICIENT_BALANCE');
    expect(await snapshot(short.userId, b.reservationId)).toEqual({
      reservation: 'HELD',
      seats: ['HELD'],
      payments: 0,
      balance: PRICE - 1,
      ledger: [`CHARGE ${PRICE - 1}`],
    });
    expect(await tokenStatus(short.tokenId)).toBe('ACTIVE');
    const [wallets] = await query<{ n: string }>(`select count(*) as n from wallet where user_id = ?`, [broke.userId]);
    expect(Number(wallets?.n)).toBe(0);
  });

  it('a free reservation is paid without a wallet and writes no ledger row', async () => {
    const concertId = await newConcert(0);
    const holder = await admitUser(deps, concertId);
    const { reservationId } = await holdFor(deps, holder, DATE, [5]);
    expect(await pay(holder, reservationId, 'free')).toMatchObject({ amount: 0, balance: 0 });
    expect(await pay(holder, reservationId, 'free')).toMatchObject({ amount: 0, balance: 0 });
    expect(await snapshot(holder.userId, reservationId)).toEqual({
      reservation: 'CONFIRMED',
      seats: ['RESERVED'],
      payments: 1,
      balance: 0,
      ledger: [],
    });
  });

  it("needs an ACTIVE token of the reservation's concert: WAITING, lapsed and other-concert tokens are refused", async () => {
    const clock = manualClock(new Date());
    const clocked = testDeps(db.orm, { clock, jobs });
    const concertId = await newConcert();
    const otherConcertId = await newConcert();
    const holder = await admitUser(clocked, concertId);
    await chargeWallet(clocked, { userId: holder.userId, amount: PRICE });
    const { reservationId } = await holdFor(clocked, holder, DATE, [1]);

    const elsewhere = await admitUser(clocked, otherConcertId, { userId: holder.userId });
    expect(await reasonOf(pay(elsewhere, reservationId, undefined, clocked))).toBe('WRONG_CONCERT');

    await db.orm.em.fork().nativeUpdate(QueueToken, { id: holder.tokenId }, { status: 'WAITING', activeUntil: null });
    expect(await reasonOf(pay(holder, reservationId, undefined, clocked))).toBe('QUEUE_NOT_ADMITTED');

    // ACTIVE in the table but past activeUntil: lapsed whether or not the admitter has run
    await db.orm.em
      .fork()
      .nativeUpdate(QueueToken, { id: holder.tokenId }, { status: 'ACTIVE', activeUntil: new Date(clock.now().getTime() + 10_000) });
    clock.advance(10_000);
    expect(await reasonOf(pay(holder, reservationId, undefined, clocked))).toBe('TOKEN_EXPIRED');

    await db.orm.em.fork().nativeUpdate(QueueToken, { id: holder.tokenId }, { status: 'EXPIRED' });
    expect(await reasonOf(pay(holder, reservationId, undefined, clocked))).toBe('TOKEN_EXPIRED');
    expect(await snapshot(holder.userId, reservationId)).toMatchObject({ reservation: 'HELD', payments: 0, balance: PRICE });
  });
});

describe('payments.pay idempotency', () => {
  it('a replay with the same key returns the same payment after the token completed, moves no money and nudges nobody', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 3 * PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [11]);
    const first = await pay(holder, reservationId, 'pay-once');
    expect(await tokenStatus(holder.tokenId)).toBe('COMPLETED');
    await chargeWallet(deps, { userId: holder.userId, amount: 1_000 });
    nudges.length = 0;

    const replay = await pay(holder, reservationId, 'pay-once');

    // the first answer, balance included, not the balance now
    expect(replay).toEqual(first);
    expect(replay.balance).toBe(2 * PRICE);
    expect((await readBalance(deps, { userId: holder.userId })).balance).toBe(2 * PRICE + 1_000);
    expect((await snapshot(holder.userId, reservationId)).payments).toBe(1);
    expect(nudges).toEqual([]);
  });

  it('the same key with a different reservation, or a key spent on a charge, is IDEMPOTENCY_KEY_REUSED', async () => {
    const concertId = await newConcert(PRICE, [DATE, DATE2]);
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 3 * PRICE, idempotencyKey: 'charged' });
    const a = await holdFor(deps, holder, DATE, [1]);
    const b = await holdFor(deps, holder, DATE2, [1]);
    expect(await reasonOf(pay(holder, a.reservationId, 'charged'))).toBe('IDEMPOTENCY_KEY_REUSED');
    await pay(holder, a.reservationId, 'paid');
    expect(await reasonOf(pay(holder, b.reservationId, 'paid'))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await reasonOf(chargeWallet(deps, { userId: holder.userId, amount: PRICE, idempotencyKey: 'paid' }))).toBe(
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect((await readBalance(deps, { userId: holder.userId })).balance).toBe(2 * PRICE);
    // released by the payment of a (it completed the token), not paid by the refused call
    expect(await snapshot(holder.userId, b.reservationId)).toMatchObject({ reservation: 'CANCELLED', seats: [], payments: 0 });
  });

  it('concurrent first calls with one key make one payment and all answer it', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [12]);
    const receipts = await Promise.all(Array.from({ length: 8 }, () => pay(holder, reservationId, 'double-click')));
    expect(new Set(receipts.map((r) => r.paymentId)).size).toBe(1);
    expect(receipts.every((r) => r.balance === 0)).toBe(true);
    expect(await snapshot(holder.userId, reservationId)).toMatchObject({
      payments: 1,
      balance: 0,
      ledger: [`CHARGE ${PRICE}`, `PAYMENT ${PRICE}`],
    });
  });
});

describe('payments.pay under contention', () => {
  it('10 concurrent payments of one reservation with different keys: one payment, one debit, nine RESERVATION_NOT_PAYABLE', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: 10 * PRICE });
    const { reservationId } = await holdFor(deps, holder, DATE, [20]);
    await waitingUser(deps, concertId);
    nudges.length = 0;
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => reasonOf(pay(holder, reservationId, `key-${i}`))));
    expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'RESERVATION_NOT_PAYABLE')).toHaveLength(9);
    expect(await snapshot(holder.userId, reservationId)).toEqual({
      reservation: 'CONFIRMED',
      seats: ['RESERVED'],
      payments: 1,
      balance: 9 * PRICE,
      ledger: [`CHARGE ${10 * PRICE}`, `PAYMENT ${PRICE}`],
    });
    expect(nudges).toEqual([concertId]);
  });

  it('money for one of two held reservations, paid at once in one concert: one payment, balance never below zero', async () => {
    const concertId = await newConcert();
    const holder = await admitUser(deps, concertId);
    await chargeWallet(deps, { userId: holder.userId, amount: PRICE });
    const a = await holdFor(deps, holder, DATE, [30]);
    const b = await holdFor(deps, holder, DATE, [31]);
    const outcomes = await Promise.all([reasonOf(pay(holder, a.reservationId)), reasonOf(pay(holder, b.reservationId))]);
    expect(outcomes.filter((o) => o === 'OK')).toHaveLength(1);
    // the loser finds its hold released by the winner (or, had it read first, the money gone)
    expect(['RESERVATION_NOT_PAYABLE', 'INSUFFICIENT_BALANCE', 'TOKEN_EXPIRED']).toContain(outcomes.find((o) => o !== 'OK'));
    const [ledger] = await query<{ payments: string; balance: string }>(
      `select count(*) filter (where t.type = 'PAYMENT') as payments, min(t.balance_after) as balance
         from wallet_transaction t join wallet w on w.id = t.wallet_id where w.user_id = ?`,
      [holder.userId],
    );
    expect(Number(ledger?.payments)).toBe(1);
    expect(Number(ledger?.balance)).toBe(0);
    expect((await readBalance(deps, { userId: holder.userId })).balance).toBe(0);
  });

  it('money for one of two held reservations in two concerts, paid at once: one payment, the other INSUFFICIENT_BALANCE', async () => {
    const first = await newConcert();
    const second = await newConcert();
    const inFirst = await admitUser(deps, first);
    const inSecond = await admitUser(deps, second, { userId: inFirst.userId });
    await chargeWallet(deps, { userId: inFirst.userId, amount: PRICE });
    const a = await holdFor(deps, inFirst, DATE, [1]);
    const b = await holdFor(deps, inSecond, DATE, [1]);
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all([reasonOf(pay(inFirst, a.reservationId)), reasonOf(pay(inSecond, b.reservationId))]);
      if (round === 0) expect([...outcomes].sort()).toEqual(['INSUFFICIENT_BALANCE', 'OK']);
      else expect(outcomes.every((o) => o === 'RESERVATION_NOT_PAYABLE' || o === 'INSUFFICIENT_BALANCE')).toBe(true);
    }
    expect((await readBalance(deps, { userId: inFirst.userId })).balance).toBe(0);
    const [payments] = await query<{ n: string }>(`select count(*) as n from payment where user_id = ?`, [inFirst.userId]);
    expect(Number(payments?.n)).toBe(1);
  });

  it('payment against hold expiry at the same instant: exactly one wins, money and seats agree, every time', async () => {
    const concertId = await newConcert(PRICE, [DATE, DATE2, DATE3]);
    const clock = manualClock(new Date());
    const clocked = testDeps(db.orm, { clock, jobs });
    const seen = { paid: 0, expired: 0 };
    for (let round = 0; round < 24; round++) {
      const holder = await admitUser(clocked, concertId, { activeSeconds: 3_600 });
      await chargeWallet(clocked, { userId: holder.userId, amount: PRICE });
      const date = [DATE, DATE2, DATE3][round % 3] ?? DATE;
      const seat = 1 + Math.floor(round / 3);
      const { reservationId, expiresAt } = await holdFor(clocked, holder, date, [seat]);
      // the API's clock reads just before the expiry, the worker's at it
      const api = testDeps(db.orm, { clock: manualClock(new Date(expiresAt.getTime() - 1)), jobs });
      const worker = testDeps(db.orm, { clock: manualClock(expiresAt), jobs });
      const [paid, expired] = await Promise.all([
        reasonOf(pay(holder, reservationId, undefined, api)),
        expireHold(worker, reservationId).then((r) => r.outcome === 'expired'),
      ]);
      const state = await snapshot(holder.userId, reservationId);
      const [seatRow] = await query<{ status: string; reservation_id: string | null }>(
        `select s.status, s.reservation_id from seat s join schedule d on d.id = s.schedule_id where d.concert_id = ? and d.date = ? and s.number = ?`,
        [concertId, date, seat],
      );
      if (paid === 'OK') {
        seen.paid++;
        expect(expired).toBe(false);
        expect(state).toMatchObject({ reservation: 'CONFIRMED', payments: 1, balance: 0 });
        expect(seatRow).toEqual({ status: 'RESERVED', reservation_id: reservationId });
      } else {
        seen.expired++;
        expect(paid).toBe('RESERVATION_NOT_PAYABLE');
        expect(expired).toBe(true);
        expect(state).toMatchObject({ reservation: 'EXPIRED', payments: 0, balance: PRICE, ledger: [`CHARGE ${PRICE}`] });
        expect(seatRow).toEqual({ status: 'AVAILABLE', reservation_id: null });
      }
    }
    expect(seen.paid + seen.expired).toBe(24);
  });
});
