import { z } from 'zod';
import { Concert, LockMode, QueueToken, Reservation } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { type TicketState, assertTicketConcert } from '../queue/ticket.ts';
import { inTransaction } from '../unit-of-work.ts';
import { isLiveHold, liveHoldWhere, reservationIdSchema } from './hold-rules.ts';
import { releaseReservation } from './release-reservation.ts';

export const cancelReservationInput = z.object({ reservationId: reservationIdSchema });

export type CancelReservationInput = z.input<typeof cancelReservationInput>;
export type CancelledReservation = { reservationId: string; status: 'CANCELLED' };

/**
 * Gives up a live hold: the reservation becomes CANCELLED and its seats AVAILABLE at once.
 * API.md is silent on a reservation that is not a live hold, so:
 * - already CANCELLED: the same answer again (a retried cancel succeeds, nothing changes);
 * - EXPIRED, or HELD past its expiry: HOLD_EXPIRED (the hold is gone and its seats are free already);
 * - CONFIRMED: RESERVATION_NOT_PAYABLE, the reason API.md gives for a reservation that is settled;
 * - unknown or someone else's: RESERVATION_NOT_FOUND.
 */
export async function cancelReservation(
  deps: Deps,
  holder: Pick<TicketState, 'tokenId' | 'userId' | 'concertId'>,
  raw: CancelReservationInput,
): Promise<CancelledReservation> {
  const input = cancelReservationInput.parse(raw);
  return await inTransaction(deps.em, async (em) => {
    const now = deps.clock.now();
    // the holder's token, the reservation, then its seats: the lock order of every use case that touches seats
    const token = await em.findOne(QueueToken, { id: holder.tokenId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const reservation = await em.findOne(Reservation, { id: input.reservationId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!reservation || reservation.userId !== holder.userId) {
      throw new DomainError('RESERVATION_NOT_FOUND', `no reservation ${input.reservationId} of yours`);
    }
    assertTicketConcert(holder, reservation.concert.id);
    const answer = { reservationId: reservation.id, status: 'CANCELLED' } as const;
    if (reservation.status === 'CANCELLED') return answer;
    if (reservation.status === 'CONFIRMED') {
      throw new DomainError('RESERVATION_NOT_PAYABLE', `reservation ${reservation.id} is paid and cannot be cancelled`);
    }
    if (!isLiveHold(reservation, now)) throw new DomainError('HOLD_EXPIRED', `the hold of reservation ${reservation.id} has expired`);

    await releaseReservation(em, reservation, 'CANCELLED');
    // a cancelled hold extends nothing: the token keeps what its admission and its other live holds give it
    if (token && token.userId === holder.userId) {
      const others = await em.find(Reservation, {
        id: { $ne: reservation.id },
        userId: holder.userId,
        concert: reservation.concert,
        ...liveHoldWhere(now),
      });
      const concert = await em.findOneOrFail(Concert, reservation.concert.id);
      token.shortenAfterCancel(
        others.map((r) => r.expiresAt),
        concert.activeTtlSeconds,
        deps.settings.holdTtlSeconds,
      );
    }
    await em.flush();
    return answer;
  });
}
