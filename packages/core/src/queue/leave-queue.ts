import { LockMode, QueueToken } from '@frontrow/db';
import { releaseHoldsOf } from '../booking/release-holds.ts';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { isAdmittedToken } from './crowd-rules.ts';
import { nudgeAdmission } from './nudge-admission.ts';
import { type QueueTicket, type TicketState, toQueueTicket } from './ticket.ts';

export type LeaveQueueInput = {
  /** The signed token, echoed back in the answer. */
  token: string;
  /** What the guard read for that token. */
  ticket: TicketState;
};

/**
 * The user gives up their place: the token becomes CANCELLED and their holds in the concert are released,
 * in one unit of work, taking the house lock order (docs/ARCHITECTURE.md): the token first (`for update`),
 * then the reservations and their seats. An admitter promoting this very token meanwhile is waited for,
 * and the token is cancelled in the state it left. Leaving again answers the same
 * CANCELLED ticket; a token that already ended otherwise (EXPIRED, COMPLETED, or ACTIVE past `activeUntil`)
 * has nothing to leave: TOKEN_EXPIRED. A freed ACTIVE slot asks for an admission round after commit.
 */
export async function leaveQueue(deps: Deps, input: LeaveQueueInput): Promise<QueueTicket> {
  const left = await inTransaction(deps.em, async (em) => {
    const token = await em.findOne(QueueToken, input.ticket.tokenId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!token) throw new DomainError('TOKEN_INVALID', 'unknown queue token');
    const now = deps.clock.now();
    const wasActive = isAdmittedToken(token, now);
    if (token.status === 'CANCELLED') return { wasActive: false };
    if (token.status !== 'WAITING' && !wasActive) {
      const status = token.status === 'ACTIVE' ? 'EXPIRED' : token.status;
      throw new DomainError('TOKEN_EXPIRED', `your token is ${status}; there is no place to leave`);
    }
    token.status = 'CANCELLED';
    await releaseHoldsOf(em, token.userId, input.ticket.concertId);
    return { wasActive };
  });
  if (left.wasActive) await nudgeAdmission(deps, input.ticket.concertId);
  return toQueueTicket(input.token, { ...input.ticket, status: 'CANCELLED', activeUntil: null });
}
