import { type EntityManager, LockMode, Reservation } from '@frontrow/db';
import { releaseReservation } from './release-reservation.ts';

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
  await releaseReservation(em, held, 'CANCELLED');
  return held.length;
}
