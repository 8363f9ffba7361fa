/**
 * Test fixtures of payment tests: admitted users and HELD reservations written straight through the
 * entities (the booking use cases are another issue's work), following the same rules they follow.
 */
import { Concert, QueueToken, Reservation, Schedule, Seat, ticketSequenceName } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../unit-of-work.ts';

export type Admitted = { userId: string; tokenId: string; concertId: string };

/** A user with an ACTIVE token of the concert, lapsing `activeSeconds` after the deps' clock. */
export async function admitUser(
  deps: Deps,
  concertId: string,
  options: { userId?: string; activeSeconds?: number } = {},
): Promise<Admitted> {
  const userId = options.userId ?? crypto.randomUUID();
  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    const rows = await em
      .getConnection()
      .execute<{ ticket: string }[]>(`select nextval('${ticketSequenceName(concertId)}') as ticket`, [], 'all', em.getTransactionContext());
    const token = em.create(QueueToken, {
      concert: em.getReference(Concert, concertId),
      userId,
      ticket: Number(rows[0]?.ticket),
      status: 'ACTIVE',
      activatedAt: now,
      activeUntil: new Date(now.getTime() + (options.activeSeconds ?? 600) * 1_000),
    });
    await em.flush();
    return { userId, tokenId: token.id, concertId };
  });
}

/** A HELD reservation of `seatNumbers` on the concert's `date`, expiring `ttlSeconds` after the deps' clock. */
export async function holdSeats(
  deps: Deps,
  holder: Admitted,
  date: string,
  seatNumbers: number[],
  options: { ttlSeconds?: number } = {},
): Promise<{ reservationId: string; totalPrice: number; expiresAt: Date }> {
  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    const expiresAt = new Date(now.getTime() + (options.ttlSeconds ?? deps.settings.holdTtlSeconds) * 1_000);
    const schedule = await em.findOneOrFail(Schedule, { concert: holder.concertId, date });
    const seats = await em.find(Seat, { schedule, number: { $in: seatNumbers } }, { orderBy: { number: 'asc' } });
    if (seats.length !== seatNumbers.length) throw new Error(`no seats ${seatNumbers.join(',')} on ${date}`);
    const reservation = em.create(Reservation, {
      userId: holder.userId,
      concert: em.getReference(Concert, holder.concertId),
      schedule,
      seatNumbers: seats.map((seat) => seat.number),
      totalPrice: seats.reduce((sum, seat) => sum + seat.price, 0),
      status: 'HELD',
      expiresAt,
    });
    for (const seat of seats) seat.holdFor(reservation, expiresAt, now);
    const token = await em.findOneOrFail(QueueToken, { id: holder.tokenId });
    token.extendTo(expiresAt);
    await em.flush();
    return { reservationId: reservation.id, totalPrice: reservation.totalPrice, expiresAt };
  });
}

/**
 * Stand-in for the expiry worker's use case: expires the reservation if it is still HELD and past
 * `expiresAt` on the deps' clock, freeing its seats, under the reservation's version check.
 */
export async function expireHold(deps: Deps, reservationId: string): Promise<boolean> {
  return await inTransaction(deps.em, async (em) => {
    const reservation = await em.findOne(Reservation, { id: reservationId });
    if (reservation?.status !== 'HELD' || reservation.expiresAt > deps.clock.now()) return false;
    reservation.status = 'EXPIRED';
    const seats = await em.find(Seat, { reservation, status: 'HELD' }, { orderBy: { number: 'asc' } });
    for (const seat of seats) seat.releaseFrom(reservation);
    await em.flush();
    return true;
  });
}
