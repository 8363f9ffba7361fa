import { LockMode, Reservation, type ReservationStatus } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { inTransaction } from '../unit-of-work.ts';
import { isLiveHold } from './hold-rules.ts';
import { releaseReservation } from './release-reservation.ts';

export type ExpireHoldResult =
  | { outcome: 'expired' }
  /** Not past `expiresAt` on this clock yet: the caller may try again at `expiresAt`. */
  | { outcome: 'not-due'; expiresAt: Date }
  /** Paid, cancelled or expired already: nothing to do. */
  | { outcome: 'settled'; status: ReservationStatus }
  | { outcome: 'missing' };

/**
 * The worker's catch-up of invariant 2: a HELD reservation past its expiry becomes EXPIRED and its seats
 * AVAILABLE. Idempotent. It races payment on the reservation row: whoever locks it first wins, and the
 * other reads the winner's status (a version conflict replays the unit of work, which then reads it).
 */
export async function expireHold(deps: Pick<Deps, 'em' | 'clock'>, reservationId: string): Promise<ExpireHoldResult> {
  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    const reservation = await em.findOne(Reservation, { id: reservationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!reservation) return { outcome: 'missing' };
    if (reservation.status !== 'HELD') return { outcome: 'settled', status: reservation.status };
    if (isLiveHold(reservation, now)) return { outcome: 'not-due', expiresAt: reservation.expiresAt };

    await releaseReservation(em, reservation, 'EXPIRED');
    await em.flush();
    return { outcome: 'expired' };
  });
}
