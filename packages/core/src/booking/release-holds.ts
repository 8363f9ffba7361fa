import { type EntityManager, LockMode, Reservation, Seat } from '@frontrow/db';

/**
 * Cancels every HELD reservation of a user in a concert and frees its seats, inside the caller's unit
 * of work (used by `queue.leave`). Seats still pointing at such a reservation become AVAILABLE; a sold
 * seat is never touched. Reservations, then seats, are locked in the order every booking use case takes
 * them, so a racing payment or expiry either finished first (and is seen) or waits. Returns how many
 * reservations were released.
 */
export async function releaseHoldsOf(em: EntityManager, userId: string, concertId: string): Promise<number> {
  const held = await em.find(
    Reservation,
    { userId, concert: concertId, status: 'HELD' },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
  );
  if (held.length === 0) return 0;
  const seats = await em.find(
    Seat,
    { reservation: { $in: held.map((r) => r.id) }, status: 'HELD' },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { schedule: 'asc', number: 'asc' } },
  );
  for (const reservation of held) {
    reservation.status = 'CANCELLED';
    for (const seat of seats) seat.releaseFrom(reservation);
  }
  return held.length;
}
