import { z } from 'zod';
import { type EntityManager, LockMode, Payment, QueueToken, Reservation, Seat, type Wallet, WalletTransaction } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { idempotencyKey, replayOnUniqueViolation } from '../wallet/idempotency.ts';
import { lockWallet } from '../wallet/wallet-lock.ts';

/** A bigint key as the wire carries it: decimal, and small enough that PostgreSQL never rejects it. */
const recordId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'expected a decimal id');

/** What the client sends; who pays comes from the queue token. */
export const payReservationInput = z.object({
  reservationId: recordId,
  idempotencyKey: idempotencyKey.optional(),
});

const payReservationRequest = payReservationInput.extend({ userId: z.uuid(), tokenId: recordId });

export type PayReservationInput = z.input<typeof payReservationRequest>;
export type PaymentReceipt = { paymentId: string; reservationId: string; amount: number; balance: number; paidAt: string };

type Outcome = { receipt: PaymentReceipt; freedSlotOf: string | null };

/**
 * Pays a HELD reservation from the wallet in one unit of work: debit and PAYMENT ledger row, seats
 * RESERVED, reservation CONFIRMED, payment row, queue token COMPLETED; then nudges the admitter, since
 * a slot is free. With an idempotency key, a replay returns the same payment, even after this payment
 * completed the token; the same key with another reservation is IDEMPOTENCY_KEY_REUSED.
 */
export async function payReservation(deps: Deps, raw: PayReservationInput): Promise<PaymentReceipt> {
  const input = payReservationRequest.parse(raw);
  const outcome = await replayOnUniqueViolation(() => inTransaction(deps.em, (em) => pay(em, deps.clock.now(), input)));
  if (outcome.freedSlotOf !== null) {
    // best effort: the payment is committed whatever happens here, and the admitter's own round catches up
    await deps.jobs.nudgeAdmission(outcome.freedSlotOf).catch(() => {});
  }
  return outcome.receipt;
}

async function pay(em: EntityManager, now: Date, input: z.output<typeof payReservationRequest>): Promise<Outcome> {
  // Lock order: the wallet (only charges and payments take it), then booking's order: the token, the
  // reservation, its seats by number. Payments of one user queue up on the wallet, so each one reads
  // what the one before it did.
  const wallet = await lockWallet(em, input.userId);
  const key = input.idempotencyKey;
  if (key !== undefined) {
    const earlier = await em.findOne(Payment, { userId: input.userId, idempotencyKey: key });
    if (earlier) return { receipt: await replayOf(em, earlier, input.reservationId, wallet), freedSlotOf: null };
    if (wallet && (await em.count(WalletTransaction, { wallet, idempotencyKey: key })) > 0) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for a different request');
    }
  }

  const token = await em.findOne(QueueToken, { id: input.tokenId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  // locked: a racing expiry either finished first (we read EXPIRED) or waits and then reads CONFIRMED
  const reservation = await em.findOne(Reservation, { id: input.reservationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!reservation || reservation.userId !== input.userId) {
    throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId} of yours`);
  }
  if (reservation.status === 'CONFIRMED') {
    // a same-key twin that took no wallet lock (a free reservation) may have confirmed it while we waited
    const payment = await em.findOne(Payment, { reservation });
    if (payment && key !== undefined && payment.idempotencyKey === key) {
      return { receipt: await replayOf(em, payment, input.reservationId, wallet), freedSlotOf: null };
    }
    throw new DomainError('RESERVATION_NOT_PAYABLE', `reservation ${reservation.id} is already paid`);
  }
  if (reservation.status !== 'HELD') {
    throw new DomainError('RESERVATION_NOT_PAYABLE', `reservation ${reservation.id} is ${reservation.status}`);
  }
  if (!reservation.isLiveHoldAt(now)) throw new DomainError('HOLD_EXPIRED', `the hold of reservation ${reservation.id} has expired`);

  if (!token || token.userId !== input.userId) throw new DomainError('TOKEN_INVALID', 'unknown queue token');
  if (token.status === 'WAITING') throw new DomainError('QUEUE_NOT_ADMITTED', 'your token is still waiting in the queue');
  if (!token.isAdmittedAt(now)) throw new DomainError('TOKEN_EXPIRED', 'your token is no longer active; enter the queue again');
  if (token.concert.id !== reservation.concert.id) {
    throw new DomainError('WRONG_CONCERT', `your token is for concert ${token.concert.id}, not ${reservation.concert.id}`);
  }

  const amount = reservation.totalPrice;
  const balance = wallet?.balance ?? 0;
  if (balance < amount) throw new DomainError('INSUFFICIENT_BALANCE', `the balance ${balance} does not cover ${amount}`);

  const seats = await em.find(Seat, { reservation, status: 'HELD' }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { number: 'asc' } });
  if (seats.length !== reservation.seatNumbers.length) {
    // the hold lapsed on another process's clock and a new hold took a seat before the expiry caught up
    throw new DomainError('HOLD_EXPIRED', `the hold of reservation ${reservation.id} has expired`);
  }

  if (wallet && amount > 0) {
    wallet.debit(amount);
    em.create(WalletTransaction, {
      wallet,
      type: 'PAYMENT',
      amount,
      balanceAfter: wallet.balance,
      idempotencyKey: key ?? null,
      createdAt: now,
    });
  }
  for (const seat of seats) seat.sellTo(reservation);
  reservation.status = 'CONFIRMED';
  const payment = em.create(Payment, { reservation, userId: input.userId, amount, idempotencyKey: key ?? null, paidAt: now });
  token.status = 'COMPLETED';
  await em.flush();
  return { receipt: receiptOf(payment, wallet?.balance ?? 0), freedSlotOf: reservation.concert.id };
}

async function replayOf(em: EntityManager, earlier: Payment, reservationId: string, wallet: Wallet | null): Promise<PaymentReceipt> {
  if (earlier.reservation.id !== reservationId) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used to pay another reservation');
  }
  // the balance right after the first payment, as its answer said (a free reservation wrote no ledger row)
  const entry =
    wallet && earlier.idempotencyKey ? await em.findOne(WalletTransaction, { wallet, idempotencyKey: earlier.idempotencyKey }) : null;
  return receiptOf(earlier, entry?.balanceAfter ?? wallet?.balance ?? 0);
}

function receiptOf(payment: Payment, balance: number): PaymentReceipt {
  return {
    paymentId: payment.id,
    reservationId: payment.reservation.id,
    amount: payment.amount,
    balance,
    paidAt: payment.paidAt.toISOString(),
  };
}
