/**
 * The invariant checks the bench and the end-to-end test run after every run (`@frontrow/db/invariants`)
 * must fail on a broken database, not only pass on a sound one. A sound paid purchase passes; each
 * corruption below, made inside a transaction that is rolled back, fails the check it breaks.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type InvariantReport, checkInvariants } from '@frontrow/db/invariants';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { createConcert } from '../concert/create-concert.ts';
import type { Deps } from '../deps.ts';
import { testDeps } from '../testing.ts';
import { chargeWallet } from '../wallet/charge-wallet.ts';
import { payReservation } from './pay-reservation.ts';
import { admitUser, dayFromNow, holdFor, waitingUser } from '../../test/payment-fixtures.ts';

const DATE = dayFromNow(30);
let db: TestDatabase;
let deps: Deps;
let concertId: string;
let buyer: string;
let paid: { reservationId: string; amount: number };

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  deps = testDeps(db.orm);
  concertId = (await createConcert(deps, { title: 'Oracle', venue: 'Hall', dates: [DATE], price: 10_000 })).concertId;
  const holder = await admitUser(deps, concertId);
  buyer = holder.userId;
  await chargeWallet(deps, { userId: holder.userId, amount: 50_000 });
  const { reservationId, totalPrice } = await holdFor(deps, holder, DATE, [3, 4]);
  await payReservation(deps, { userId: holder.userId, tokenId: holder.tokenId, reservationId });
  paid = { reservationId, amount: totalPrice };
  await waitingUser(deps, concertId);
});
afterAll(async () => db?.drop());

class RolledBack extends Error {}

/** The invariants as they stand after `corrupt`, which is then rolled back. */
async function reportAfter(corrupt: string): Promise<InvariantReport> {
  let report: InvariantReport | undefined;
  await db.orm.em
    .fork()
    .transactional(async (em) => {
      const query = <T extends object>(sql: string, params: unknown[] = []) =>
        em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
      if (corrupt) await query(corrupt, []);
      report = await checkInvariants(query, [concertId], { paid: [paid], activeSamples: [] });
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  if (!report) throw new Error('no report');
  return report;
}

const failed = (report: InvariantReport) => report.checks.filter((c) => !c.passed).map((c) => c.name);
const DEBITS = 'money conserved: every payment debited its wallet once';

describe('the invariant checks', () => {
  it('pass on a sound paid purchase', async () => {
    const report = await reportAfter('');
    expect(failed(report)).toEqual([]);
    expect(report.passed).toBe(true);
  });

  it('fail when a payment was not debited from its wallet as paid, either way', async () => {
    const morePaid = await reportAfter(`update payment set amount = amount + 1`);
    expect(failed(morePaid)).toContain(DEBITS);
    expect(morePaid.checks.find((c) => c.name === DEBITS)?.detail).toContain(buyer);
    const moreDebited = await reportAfter(`update wallet_transaction set amount = amount + 1 where type = 'PAYMENT'`);
    expect(failed(moreDebited)).toContain(DEBITS);
    expect(moreDebited.passed).toBe(false);
    // a payment with no debit at all (the user's sum of debits is missing, not different)
    expect(failed(await reportAfter(`delete from wallet_transaction where type = 'PAYMENT'`))).toContain(DEBITS);
    // a debit with no payment at all
    expect(failed(await reportAfter(`delete from payment`))).toContain(DEBITS);
  });

  it('fail when a wallet is off its ledger, a seat is sold twice, or a confirmed payment is missing', async () => {
    expect(failed(await reportAfter(`update wallet set balance = balance + 1`))).toContain(
      'money conserved: every wallet balance equals its ledger',
    );
    expect(
      failed(
        await reportAfter(
          `insert into reservation (concert_id, schedule_id, user_id, seat_numbers, total_price, status, expires_at)
           select concert_id, schedule_id, gen_random_uuid(), seat_numbers, total_price, 'CONFIRMED', expires_at from reservation`,
        ),
      ),
    ).toContain('no seat sold or held twice');
    expect(failed(await reportAfter(`delete from payment`))).toContain('every payment the API confirmed is in the database');
  });
});
