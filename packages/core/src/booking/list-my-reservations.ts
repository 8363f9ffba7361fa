import { z } from 'zod';
import { Payment, Reservation, type ReservationStatus } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { isLiveHold } from './hold-rules.ts';

export const listMyReservationsInput = z.object({
  userId: z.uuid(),
  limit: z.number().int().min(1).max(100).default(20),
});
export type ListMyReservationsInput = z.input<typeof listMyReservationsInput>;

/** One of the caller's reservations or paid tickets (`reservations.mine`, docs/API.md). */
export type MyReservation = {
  reservationId: string;
  concertId: string;
  concertTitle: string;
  venue: string;
  date: string;
  seatNumbers: number[];
  totalPrice: number;
  /** A HELD reservation past its expiry reads EXPIRED, as everywhere (the worker may not have run yet). */
  status: ReservationStatus;
  /** While HELD: when the hold lapses; else null. */
  expiresAt: string | null;
  /** When CONFIRMED: when it was paid, and the payment; else null. */
  paidAt: string | null;
  paymentId: string | null;
  createdAt: string;
};

/** The user's reservations and paid tickets, newest first: a buyer sees what they bought without queueing. */
export async function listMyReservations(deps: Pick<Deps, 'em' | 'clock'>, raw: ListMyReservationsInput): Promise<MyReservation[]> {
  const input = listMyReservationsInput.parse(raw);
  const em = deps.em.fork();
  const now = deps.clock.now();
  const reservations = await em.find(
    Reservation,
    { userId: input.userId },
    { orderBy: { id: 'desc' }, limit: input.limit, populate: ['concert', 'schedule'] },
  );
  const payments = await em.find(Payment, { reservation: { $in: reservations.map((r) => r.id) } });
  const paymentOf = new Map(payments.map((payment) => [payment.reservation.id, payment]));
  return reservations.map((reservation) => {
    const live = isLiveHold(reservation, now);
    const payment = paymentOf.get(reservation.id);
    return {
      reservationId: reservation.id,
      concertId: reservation.concert.id,
      concertTitle: reservation.concert.title,
      venue: reservation.concert.venue,
      date: reservation.schedule.date,
      seatNumbers: reservation.seatNumbers,
      totalPrice: reservation.totalPrice,
      status: reservation.status === 'HELD' && !live ? 'EXPIRED' : reservation.status,
      expiresAt: live ? reservation.expiresAt.toISOString() : null,
      paidAt: payment ? payment.paidAt.toISOString() : null,
      paymentId: payment ? payment.id : null,
      createdAt: reservation.createdAt.toISOString(),
    };
  });
}
