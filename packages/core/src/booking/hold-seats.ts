import { z } from 'zod';
import { type EntityManager, LockMode, QueueToken, Reservation, Schedule, Seat, queryPrepared } from '@frontrow/db';
import { isoDate } from '../dates.ts';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import {
  type TicketRow,
  type TicketState,
  assertTicketConcert,
  arrive,
  claimedTicketState,
  readTicketState,
  ticketStateSqlWith,
} from '../queue/ticket.ts';
import type { TokenClaims } from '../queue/token-signer.ts';
import { inTransaction } from '../unit-of-work.ts';
import { concertIdSchema } from '../queue/concert-id.ts';
import { ADMITTED_TOKEN_SQL, isAdmittedToken } from '../queue/crowd-rules.ts';
import {
  LIVE_HELD_SEATS_SQL,
  SEAT_TAKEN_SQL,
  UPCOMING_SQL,
  WITHIN_HOLD_LIMIT_SQL,
  assertWithinHoldLimit,
  holdExpiresAt,
  isSeatFreeAt,
  isUpcoming,
  lapsedHoldWhere,
  liveHeldSeats,
  liveHoldWhere,
  seatConflictAsUnavailable,
  seatNumbersSchema,
} from './hold-rules.ts';

export const holdSeatsInput = z.object({ concertId: concertIdSchema, date: isoDate, seatNumbers: seatNumbersSchema });

export type HoldSeatsInput = z.input<typeof holdSeatsInput>;
type HoldSeats = z.output<typeof holdSeatsInput>;
type HoldRow = TicketRow & { taken_seat: number | null };
/** Who holds: the admitted queue token of the caller. */
export type Holder = Pick<TicketState, 'tokenId' | 'userId' | 'concertId'>;
/** What a hold learns before its transaction, in the admitted guard's one round trip (`readHoldPrecheck`). */
export type HoldPrecheck = {
  /** The caller's token as `readTicketState` reads it: null when unknown or not the one claimed. */
  ticket: TicketState | null;
  /** A wanted seat that is taken now (see `readHoldRow`); null when none is, or the input was not asked about. */
  takenSeat: number | null;
};
export type HeldReservation = {
  reservationId: string;
  date: string;
  seatNumbers: number[];
  totalPrice: number;
  status: 'HELD';
  expiresAt: string;
};

/**
 * Holds 1…4 seats of one performance for HOLD_TTL_SECONDS, all or nothing (docs/ARCHITECTURE.md#invariants 1, 2, 5, 7).
 *
 * Lock order, the same in every use case that touches seats: the holder's token, then reservations by
 * id, then seats by ascending number. The token lock serialises one user's holds, so the limit of 4
 * seats per concert cannot be raced. A seat whose hold lapsed is free: its stale reservation is marked
 * EXPIRED here and all its seats freed, whether or not the worker has run.
 */
export async function holdSeats(
  deps: Deps,
  holder: Holder,
  raw: HoldSeatsInput,
  precheck?: Pick<HoldPrecheck, 'takenSeat'>,
): Promise<HeldReservation> {
  const input = holdSeatsInput.parse(raw);
  assertTicketConcert(holder, input.concertId);
  const numbers = [...input.seatNumbers].sort((a, b) => a - b);

  // A sold-out storm is all rejections: a seat taken now is taken, and saying so needs no transaction and
  // no lock (the locked path below queued every rejection behind the seat locks of the ones before it).
  // The API's guard read it already, with the token; a caller without a precheck reads it here.
  const taken = precheck ? precheck.takenSeat : await takenSeat(deps.em, holder, input, deps.clock.now());
  if (taken !== null) throw new DomainError('SEAT_UNAVAILABLE', `seat ${taken} is taken; pick another`);

  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    const token = await lockAdmittedToken(em, holder, now);
    // with its concert (no lock on either): the concert's active time bounds what the hold extends
    const schedule = await em.findOne(Schedule, { concert: input.concertId, date: input.date }, { populate: ['concert'] });
    // a performance that has started is no longer on sale
    if (!schedule || !isUpcoming(schedule, now)) {
      throw new DomainError('SCHEDULE_NOT_FOUND', `no upcoming performance of concert ${input.concertId} on ${input.date}`);
    }

    const live = await em.find(Reservation, { userId: holder.userId, concert: input.concertId, ...liveHoldWhere(now) });
    assertWithinHoldLimit(liveHeldSeats(live, now), numbers.length);

    // lapsed holds on the wanted seats, locked before their seats (reservation, then seat)
    const stale = await em.find(
      Reservation,
      { schedule, ...lapsedHoldWhere(now), seatNumbers: { $overlap: numbers } },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
    );
    const staleIds = stale.map((r) => r.id);
    const seats = await em.find(
      Seat,
      { schedule, $or: [{ number: { $in: numbers } }, ...(staleIds.length > 0 ? [{ reservation: { $in: staleIds } }] : [])] },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { number: 'asc' } },
    );
    const wanted = seats.filter((seat) => numbers.includes(seat.number));
    if (wanted.length !== numbers.length) throw new Error(`schedule ${schedule.id} lacks some of seats ${numbers.join(', ')}`);
    for (const seat of wanted) await assertHoldable(em, seat, staleIds, now);

    for (const reservation of stale) {
      reservation.status = 'EXPIRED';
      for (const seat of seats) seat.releaseFrom(reservation);
    }
    const expiresAt = holdExpiresAt(now, deps.settings.holdTtlSeconds);
    const reservation = em.create(Reservation, {
      userId: holder.userId,
      concert: input.concertId,
      schedule,
      seatNumbers: numbers,
      totalPrice: wanted.reduce((sum, seat) => sum + seat.price, 0),
      status: 'HELD',
      expiresAt,
    });
    for (const seat of wanted) seat.holdFor(reservation, expiresAt);
    // invariant 5: an admitted user can pay for what they hold, within the cap of one hold past the active time
    token.extendForHold([...live.map((r) => r.expiresAt), expiresAt], schedule.concert.activeTtlSeconds, deps.settings.holdTtlSeconds);

    try {
      await em.flush();
    } catch (error) {
      throw seatConflictAsUnavailable(error);
    }
    // same transaction: the expiry job exists exactly when the hold does
    await deps.jobs.expireHoldAt(em, reservation.id, expiresAt);
    return {
      reservationId: reservation.id,
      date: schedule.date,
      seatNumbers: numbers,
      totalPrice: reservation.totalPrice,
      status: 'HELD',
      expiresAt: expiresAt.toISOString(),
    };
  });
}

/**
 * The admitted guard's read for a hold: the token's state and, in the same statement, `takenSeat`, so a
 * refusal in a sold-out storm costs one round trip. Input the schema refuses is not asked about (only its
 * token is read), so the guard's answers still come before VALIDATION.
 */
export async function readHoldPrecheck(em: EntityManager, claims: TokenClaims, raw: unknown, now: Date): Promise<HoldPrecheck> {
  const input = holdSeatsInput.safeParse(raw);
  if (!input.success) return { ticket: await readTicketState(em, claims, now), takenSeat: null };
  const row = await readHoldRow(em, claims, input.data, now);
  return { ticket: await arrive(em, claimedTicketState(claims, row, now), now), takenSeat: row?.taken_seat ?? null };
}

/** A hold's taken seat read without the guard (a caller that passes no precheck); the token's columns go unused. */
async function takenSeat(em: EntityManager, holder: Holder, input: HoldSeats, now: Date): Promise<number | null> {
  return (await readHoldRow(em, holder, input, now))?.taken_seat ?? null;
}

/** `$1` is the token; `$2`…`$6` the hold: concert, date, now, seats, user. Built from the rules' own fragments. */
const HOLD_PRECHECK_SQL = ticketStateSqlWith(`(
        select s.number from seat s join schedule d on d.id = s.schedule_id
         where d.concert_id = $2 and d.date = $3::date and ${UPCOMING_SQL('d', '$4')} and s.number = any($5::int[])
           and ${SEAT_TAKEN_SQL('s', '$4')}
           and t.user_id = $6 and t.concert_id = $2 and ${ADMITTED_TOKEN_SQL('t', '$4')}
           and ${WITHIN_HOLD_LIMIT_SQL(LIVE_HELD_SEATS_SQL('$6', '$2', '$4'), 'cardinality($5::int[])')}
         order by s.number limit 1) as taken_seat`);

/**
 * The holder's token row with `taken_seat`: the lowest requested seat that is RESERVED, or HELD and unexpired,
 * now, but only where the locked path would answer SEAT_UNAVAILABLE too (this user's admitted token of the
 * concert, an upcoming performance, a hold within the limit), so the answer and its precedence are the same.
 * Null: go the locked way. One prepared read, no lock.
 */
async function readHoldRow(
  em: EntityManager,
  holder: Pick<Holder, 'tokenId' | 'userId'>,
  input: HoldSeats,
  now: Date,
): Promise<HoldRow | undefined> {
  const rows = await queryPrepared<HoldRow>(em, 'frontrow_hold_precheck', HOLD_PRECHECK_SQL, [
    holder.tokenId,
    input.concertId,
    input.date,
    now,
    input.seatNumbers,
    holder.userId,
  ]);
  return rows[0];
}

/** The guard checked the token before the transaction; this re-checks it under its row lock. */
async function lockAdmittedToken(em: EntityManager, holder: Holder, now: Date): Promise<QueueToken> {
  const token = await em.findOne(QueueToken, { id: holder.tokenId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!token || token.userId !== holder.userId || token.concert.id !== holder.concertId) {
    throw new DomainError('TOKEN_INVALID', 'unknown queue token');
  }
  if (token.status === 'WAITING') throw new DomainError('QUEUE_NOT_ADMITTED', 'your token is still waiting in the queue');
  if (!isAdmittedToken(token, now)) throw new DomainError('TOKEN_EXPIRED', 'your token is no longer active; enter the queue again');
  // holding is showing up: the slot is claimed (if no read claimed it yet), in the hold's own flush
  token.claimedAt ??= now;
  return token;
}

/**
 * SEAT_UNAVAILABLE unless the seat is free now. A lapsed hold we did not lock as stale appeared between
 * our two reads (another process's clock); taking it would skip the reservation-then-seat lock order,
 * so the seat is refused until that hold is expired. A seat left pointing at a finished reservation is free.
 */
async function assertHoldable(em: EntityManager, seat: Seat, staleIds: string[], now: Date): Promise<void> {
  if (!isSeatFreeAt(seat, now)) throw new DomainError('SEAT_UNAVAILABLE', `seat ${seat.number} is taken; pick another`);
  const owner = seat.reservation;
  if (seat.status !== 'HELD' || !owner || staleIds.includes(owner.id)) return;
  const current = await em.findOne(Reservation, { id: owner.id });
  if (current?.status === 'HELD') throw new DomainError('SEAT_UNAVAILABLE', `seat ${seat.number} is being released; try again`);
}
