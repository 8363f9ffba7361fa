import { z } from 'zod';
import type { PreparedTransaction, QueueTokenStatus, ReservationStatus } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { isLiveHold } from '../booking/hold-rules.ts';
import { isAdmittedToken } from '../queue/crowd-rules.ts';
import { inSqlTransaction } from '../unit-of-work.ts';
import { idempotencyKey, replayOnUniqueViolation } from '../wallet/idempotency.ts';
import { decimalIdSchema } from '../text.ts';

/** A bigint key as the wire carries it: decimal, and small enough that PostgreSQL never rejects it. */
const recordId = decimalIdSchema('expected a decimal id');

/** What the client sends; who pays comes from the queue token. */
export const payReservationInput = z.object({
  reservationId: recordId,
  idempotencyKey: idempotencyKey.optional(),
});

const payReservationRequest = payReservationInput.extend({
  userId: z.uuid(),
  tokenId: recordId,
  /** The place in line the token was signed with: the API reads the token here, not in its guard. */
  ticket: z.number().int().nonnegative().optional(),
});

export type PayReservationInput = z.input<typeof payReservationRequest>;
export type PaymentReceipt = { paymentId: string; reservationId: string; amount: number; balance: number; paidAt: string };

type Request = z.output<typeof payReservationRequest>;
type Outcome = { receipt: PaymentReceipt; freedSlotOf: string | null };

/**
 * Pays a HELD reservation from the wallet in one unit of work: debit and PAYMENT ledger row, seats
 * RESERVED, reservation CONFIRMED, payment row, queue token COMPLETED, the user's other holds in the
 * concert released (their seats AVAILABLE at once); then nudges the admitter, since a slot is free. With an idempotency key, a replay returns the same payment, even after this payment
 * completed the token; the same key with another reservation is IDEMPOTENCY_KEY_REUSED.
 *
 * Payment is the hottest write of a sale, and on this kind of machine a use case costs what its round
 * trips cost (docs/BENCHMARKS.md), so it is written as SQL rather than entity by entity: begin, one
 * statement that takes every lock in the house order and reads what the rules need, one statement that
 * writes everything, commit. Every row it changes gets its version bumped, as a flush would.
 */
export async function payReservation(deps: Deps, raw: PayReservationInput): Promise<PaymentReceipt> {
  const input = payReservationRequest.parse(raw);
  const outcome = await replayOnUniqueViolation(() => inSqlTransaction(deps.em, (tx) => pay(tx, deps.clock.now(), input)));
  if (outcome.freedSlotOf !== null) {
    // best effort: the payment is committed whatever happens here, and the admitter's own round catches up
    await deps.jobs.nudgeAdmission(outcome.freedSlotOf).catch(() => {});
  }
  return outcome.receipt;
}

async function pay(tx: PreparedTransaction, now: Date, input: Request): Promise<Outcome> {
  const key = input.idempotencyKey ?? null;
  if (key !== null) {
    // Payments and charges of one user queue up on the wallet lock. With a key, take it in a statement of
    // its own, so that the next statement (a new snapshot) sees every payment of this key committed by
    // the one we waited for.
    await tx.query('frontrow_pay_wallet_lock', 'select id from wallet where user_id = $1 for update', [input.userId]);
  }
  const state = await lockAndRead(tx, input);
  const knownToken = state.token_status !== null && state.token_user_id === input.userId;
  if (!knownToken || (input.ticket !== undefined && Number(state.token_ticket) !== input.ticket)) {
    throw new DomainError('TOKEN_INVALID', 'unknown queue token');
  }

  if (state.earlier_payment_id !== null) {
    if (state.earlier_reservation_id !== input.reservationId) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used to pay another reservation');
    }
    // the balance right after the first payment, as its answer said (a free one wrote no ledger row: the balance now)
    const balance = state.key_balance_after ?? state.balance;
    return { receipt: receiptOf(state.earlier_payment_id, state.earlier_reservation_id, state, balance), freedSlotOf: null };
  }
  if (state.key_entry_type !== null) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used for a different request');
  }

  if (state.reservation_id === null || state.reservation_user_id !== input.userId) {
    throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId} of yours`);
  }
  if (state.reservation_status === 'CONFIRMED') return await replayOfConfirmed(tx, input);
  if (state.reservation_status !== 'HELD') {
    throw new DomainError('RESERVATION_NOT_PAYABLE', `reservation ${input.reservationId} is ${state.reservation_status}`);
  }
  if (!isLiveHold({ status: state.reservation_status, expiresAt: state.expires_at }, now))
    throw new DomainError('HOLD_EXPIRED', `the hold of reservation ${input.reservationId} has expired`);

  if (state.token_status === 'WAITING') throw new DomainError('QUEUE_NOT_ADMITTED', 'your token is still waiting in the queue');
  if (!isAdmittedToken({ status: state.token_status, activeUntil: state.active_until }, now)) {
    throw new DomainError('TOKEN_EXPIRED', 'your token is no longer active; enter the queue again');
  }
  if (state.token_concert_id !== state.reservation_concert_id) {
    throw new DomainError('WRONG_CONCERT', `your token is for concert ${state.token_concert_id}, not ${state.reservation_concert_id}`);
  }

  const amount = state.total_price;
  const balance = state.wallet_id === null ? 0 : Number(state.balance);
  if (balance < amount) throw new DomainError('INSUFFICIENT_BALANCE', `the balance ${balance} does not cover ${amount}`);
  if (Number(state.held_seats) !== state.seat_count) {
    // the hold lapsed on another process's clock and a new hold took a seat before the expiry caught up
    throw new DomainError('HOLD_EXPIRED', `the hold of reservation ${input.reservationId} has expired`);
  }

  const written = await writePayment(tx, now, input, state, amount);
  return {
    receipt: receiptOf(written.id, input.reservationId, { amount, paid_at: now }, written.balance ?? balance),
    // a slot is free; the admitter is asked at once only if somebody waits for it (its timer does the rest)
    freedSlotOf: state.anyone_waiting ? state.reservation_concert_id : null,
  };
}

/** Everything the rules of a payment read, under the locks. Nulls where a row does not exist. */
type PaymentState = {
  wallet_id: string | null;
  balance: string | null;
  token_user_id: string | null;
  token_ticket: string | null;
  token_concert_id: string | null;
  token_status: QueueTokenStatus | null;
  active_until: Date | string | null;
  reservation_id: string | null;
  reservation_user_id: string | null;
  reservation_concert_id: string | null;
  reservation_status: ReservationStatus | null;
  expires_at: Date | string;
  total_price: number;
  seat_count: number;
  held_seats: string;
  anyone_waiting: boolean;
  earlier_payment_id: string | null;
  earlier_reservation_id: string | null;
  amount: number;
  paid_at: Date | string;
  key_entry_type: 'CHARGE' | 'PAYMENT' | 'REFUND' | null;
  key_balance_after: string | null;
};

/**
 * One statement, the locks in the house order (the wallet, then booking's: the token, the reservation,
 * its seats by number): each CTE after the first is gated on the one before (an uncorrelated subquery,
 * which PostgreSQL runs once, before the gated scan starts), so no lock is taken before the one ahead of
 * it. `for update` returns the newest committed row, whatever the statement's snapshot. The key lookups
 * come from the snapshot: with a key, the wallet lock was taken by the statement before.
 */
async function lockAndRead(tx: PreparedTransaction, input: Request): Promise<PaymentState> {
  const key = input.idempotencyKey ?? null;
  const rows = await tx.query<PaymentState>(
    'frontrow_pay_lock',
    `with w as materialized (
       select id, balance from wallet where user_id = $1 for update
     ), t as materialized (
       select user_id, concert_id, ticket, pre_ticket, status, active_until from queue_token
        where id = $2 and (select count(*) from w) >= 0 for update
     ), r as materialized (
       select id, user_id, concert_id, status, expires_at, total_price, cardinality(seat_numbers) as seat_count from reservation
        where id = $3 and (select count(*) from t) >= 0 for update
     ), s as materialized (
       select id from seat where reservation_id = $4 and status = 'HELD' and (select count(*) from r) >= 0 order by number for update
     )
     select w.id as wallet_id, w.balance,
            t.user_id as token_user_id, coalesce(t.pre_ticket, t.ticket) as token_ticket, t.concert_id as token_concert_id, t.status as token_status, t.active_until,
            r.id as reservation_id, r.user_id as reservation_user_id, r.concert_id as reservation_concert_id,
            r.status as reservation_status, r.expires_at, r.total_price, r.seat_count,
            (select count(*) from s) as held_seats,
            exists (select 1 from queue_token q where q.concert_id = r.concert_id and q.status = 'WAITING') as anyone_waiting,
            p.id as earlier_payment_id, p.reservation_id as earlier_reservation_id, p.amount, p.paid_at,
            l.type as key_entry_type, l.balance_after as key_balance_after
       from (select 1) as one
       left join w on true
       left join t on true
       left join r on true
       left join payment p on p.user_id = $5 and p.idempotency_key = $6
       left join wallet_transaction l on l.wallet_id = w.id and l.idempotency_key = $7`,
    [input.userId, input.tokenId, input.reservationId, input.reservationId, input.userId, key, key],
  );
  const state = rows[0];
  if (!state) throw new Error('the payment read returned no row');
  // bigint columns arrive as the wire's decimal strings (the driver's default), so ids compare as they are
  return state;
}

/**
 * All the writes in one statement: the debit and its ledger row (none for a free reservation), the seats
 * RESERVED, the reservation CONFIRMED, the token COMPLETED, the payment. The token's end ends the user's
 * other holds in the concert too (`rest`): those reservations CANCELLED and their seats AVAILABLE at once,
 * as `queue.leave` releases them (booking/release-holds.ts), locked in the house order (reservations by
 * id, then seats by date and number); no other use case locks two reservations of one user without
 * first holding that user's token, which this payment holds. The rows are ours (locked above),
 * so each write must touch exactly the rows the read found; anything else is a bug and rolls it all back.
 */
async function writePayment(
  tx: PreparedTransaction,
  now: Date,
  input: Request,
  state: PaymentState,
  amount: number,
): Promise<{ id: string; balance: number | null }> {
  const key = input.idempotencyKey ?? null;
  const debited = amount > 0 ? state.wallet_id : null;
  const rows = await tx.query<{
    id: string;
    balance: string | null;
    sold: string;
    confirmed: string;
    completed: string;
    rest_freed: string;
    rest_cancelled: string;
  }>(
    'frontrow_pay_write',
    `with debit as (
       update wallet set balance = balance - $1, version = version + 1 where id = $2 returning id, balance
     ), ledger as (
       insert into wallet_transaction (wallet_id, type, amount, balance_after, idempotency_key, created_at)
       select id, 'PAYMENT', $3::bigint, balance, $4::varchar, $5::timestamptz from debit
     ), sold as (
       update seat set status = 'RESERVED', held_until = null, version = version + 1
        where reservation_id = $6 and status = 'HELD' returning id
     ), confirmed as (
       update reservation set status = 'CONFIRMED', version = version + 1 where id = $7 and status = 'HELD' returning id
     ), completed as (
       update queue_token set status = 'COMPLETED', version = version + 1 where id = $8 and status = 'ACTIVE' returning id
     ), rest as materialized (
       select id from reservation
        where user_id = $14 and concert_id = $15 and status = 'HELD' and id <> $16 and (select count(*) from completed) = 1
        order by id for update
     ), rest_seats as materialized (
       select id from seat where reservation_id in (select id from rest) and status = 'HELD' order by schedule_id, number for update
     ), rest_freed as (
       update seat set status = 'AVAILABLE', reservation_id = null, held_until = null, version = version + 1
        where id in (select id from rest_seats) returning id
     ), rest_cancelled as (
       update reservation set status = 'CANCELLED', version = version + 1 where id in (select id from rest) returning id
     )
     insert into payment (reservation_id, user_id, amount, idempotency_key, paid_at)
     values ($9, $10, $11, $12, $13)
     returning id, (select balance from debit) as balance, (select count(*) from sold) as sold,
               (select count(*) from confirmed) as confirmed, (select count(*) from completed) as completed,
               (select count(*) from rest_freed) as rest_freed, (select count(*) from rest_cancelled) as rest_cancelled`,
    [
      amount,
      debited,
      amount,
      key,
      now,
      input.reservationId,
      input.reservationId,
      input.tokenId,
      input.reservationId,
      input.userId,
      amount,
      key,
      now,
      input.userId,
      state.reservation_concert_id,
      input.reservationId,
    ],
  );
  const row = rows[0];
  if (!row || Number(row.sold) !== state.seat_count || Number(row.confirmed) !== 1 || Number(row.completed) !== 1) {
    throw new Error(`payment of reservation ${input.reservationId} changed rows it had not locked: ${JSON.stringify(row)}`);
  }
  return { id: String(row.id), balance: row.balance === null ? null : Number(row.balance) };
}

/**
 * The reservation was CONFIRMED by the time we held its lock. A same-key twin that took no wallet lock (a
 * free reservation) may have confirmed it while we waited: its payment, read now (a new snapshot), is the
 * answer to a replay; anyone else is told it is paid.
 */
async function replayOfConfirmed(tx: PreparedTransaction, input: Request): Promise<Outcome> {
  const rows = await tx.query<{
    id: string;
    amount: number;
    paid_at: Date | string;
    idempotency_key: string | null;
    balance_after: string | null;
  }>(
    'frontrow_pay_of_reservation',
    `select p.id, p.amount, p.paid_at, p.idempotency_key, coalesce(l.balance_after, w.balance) as balance_after
       from payment p
       left join wallet w on w.user_id = p.user_id
       left join wallet_transaction l on l.wallet_id = w.id and l.idempotency_key = p.idempotency_key
      where p.reservation_id = $1`,
    [input.reservationId],
  );
  const payment = rows[0];
  if (payment && input.idempotencyKey !== undefined && payment.idempotency_key === input.idempotencyKey) {
    return { receipt: receiptOf(String(payment.id), input.reservationId, payment, payment.balance_after), freedSlotOf: null };
  }
  throw new DomainError('RESERVATION_NOT_PAYABLE', `reservation ${input.reservationId} is already paid`);
}

function receiptOf(
  paymentId: string,
  reservationId: string,
  payment: { amount: number; paid_at: Date | string },
  balance: number | string | null,
): PaymentReceipt {
  return { paymentId, reservationId, amount: payment.amount, balance: Number(balance ?? 0), paidAt: dateOf(payment.paid_at).toISOString() };
}

function dateOf(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}
