import { type EntityManager, LockMode, type Reservation, Seat } from '@frontrow/db';

/**
 * Ends holds the caller has locked, as `status` (CANCELLED by their holder or by leaving the line, EXPIRED
 * by the worker), and frees their seats: each seat still HELD for one of them is locked, by schedule and
 * number (the order every booking use case takes them), and becomes AVAILABLE. A sold seat is never
 * touched. Inside the caller's unit of work, which flushes.
 */
export async function releaseReservation(
  em: EntityManager,
  held: Reservation | readonly Reservation[],
  status: 'CANCELLED' | 'EXPIRED',
): Promise<void> {
  const reservations = Array.isArray(held) ? held : [held as Reservation];
  if (reservations.length === 0) return;
  const seats = await em.find(
    Seat,
    { reservation: { $in: reservations.map((r) => r.id) }, status: 'HELD' },
    { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { schedule: 'asc', number: 'asc' } },
  );
  for (const reservation of reservations) {
    reservation.status = status;
    for (const seat of seats) seat.releaseFrom(reservation);
  }
}
