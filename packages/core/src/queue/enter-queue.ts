import { z } from 'zod';
import { ticketSequenceName } from '@frontrow/db';
import type { EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { concertIdSchema } from './concert-id.ts';
import { type ConcertQueueRow, readConcertQueue } from './concert-queue.ts';
import { nudgeAdmission } from './nudge-admission.ts';
import { type QueueTicket, type TicketState, ticketStateOf, toQueueTicket } from './ticket.ts';
import type { TokenSigner } from './token-signer.ts';

export const enterQueueInput = z.object({ concertId: concertIdSchema, userId: z.uuid() });
export type EnterQueueInput = z.input<typeof enterQueueInput>;

type LiveTokenRow = { id: string; ticket: string; status: 'WAITING' | 'ACTIVE'; active_until: Date | null };

/**
 * Gives the user a place in the concert's line, or the place they already hold: while a user has a live
 * (WAITING or ACTIVE) token for the concert, entering again returns that same token, ticket and place.
 *
 * Tickets come from the concert's own sequence. Two locks keep positions exact and admission FIFO:
 * - a shared advisory lock on the concert id, which the admitter takes exclusively: it never promotes
 *   while a ticket is drawn but not yet committed, so it cannot admit ticket n+1 before n is visible;
 * - an advisory lock on (concert, user): parallel entries of one user run one after the other, the later
 *   ones find the first one's token, and no ticket number is burnt (a gap would overstate positions).
 */
export async function enterQueue(deps: Deps & { tokens: TokenSigner }, raw: EnterQueueInput): Promise<QueueTicket> {
  const input = enterQueueInput.parse(raw);
  const userId = input.userId.toLowerCase();
  const entered = await inTransaction(deps.em, async (em) => {
    await em.execute('select pg_advisory_xact_lock_shared(?::bigint)', [input.concertId]);
    const concert = await readConcertQueue(em, input.concertId);
    if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `concert ${input.concertId} does not exist`);
    // two int4 keys: a lock space apart from the admitter's single bigint key
    await em.execute('select pg_advisory_xact_lock(hashtext(?), hashtext(?))', [input.concertId, userId]);

    const now = deps.clock.now();
    let freedSlot = false;
    const live = await findLiveToken(em, input.concertId, userId);
    if (live && (live.status === 'WAITING' || isUnlapsed(live, now))) return { concert, token: live, freedSlot };
    if (live) {
      // an ACTIVE token past activeUntil is no longer a place: it expires now and the user starts again
      await em.execute(`update queue_token set status = 'EXPIRED', version = version + 1 where id = ? and status = 'ACTIVE'`, [live.id]);
      freedSlot = true;
    }
    const token = (await insertWaitingToken(em, input.concertId, userId)) ?? (await findLiveToken(em, input.concertId, userId));
    if (!token) throw new Error(`no live token for user ${userId} in concert ${input.concertId} after entering`);
    return { concert, token, freedSlot };
  });
  if (entered.freedSlot) await nudgeAdmission(deps, input.concertId);

  const state = ticketState(entered.concert, entered.token, userId, deps.clock.now());
  const signed = await deps.tokens.sign({ tokenId: state.tokenId, userId, concertId: state.concertId, ticket: state.ticket });
  return toQueueTicket(signed, state);
}

async function findLiveToken(em: EntityManager, concertId: string, userId: string): Promise<LiveTokenRow | null> {
  const rows = await em.execute<LiveTokenRow[]>(
    `select id, ticket, status, active_until from queue_token
      where concert_id = ? and user_id = ? and status in ('WAITING', 'ACTIVE')`,
    [concertId, userId],
  );
  return rows[0] ?? null;
}

/** The new token, or null if a live one appeared meanwhile (the unique index of live tokens said so). */
async function insertWaitingToken(em: EntityManager, concertId: string, userId: string): Promise<LiveTokenRow | null> {
  const rows = await em.execute<LiveTokenRow[]>(
    `insert into queue_token (concert_id, user_id, ticket, status)
     values (?, ?, nextval(?::regclass), 'WAITING')
     on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
     returning id, ticket, status, active_until`,
    [concertId, userId, ticketSequenceName(concertId)],
  );
  return rows[0] ?? null;
}

function isUnlapsed(token: LiveTokenRow, now: Date): boolean {
  return token.active_until !== null && new Date(token.active_until) > now;
}

function ticketState(concert: ConcertQueueRow, token: LiveTokenRow, userId: string, now: Date): TicketState {
  return ticketStateOf(String(token.id), { ...concert, concert_id: concert.id, user_id: userId, ...token }, now);
}
