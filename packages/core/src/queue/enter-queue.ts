import { z } from 'zod';
import { ticketSequenceName } from '@frontrow/db';
import type { EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { concertIdSchema } from './concert-id.ts';
import type { ConcertQueueRow } from './concert-queue.ts';
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
    // Four round trips in all (a flash crowd is made of these): begin, the locks with the concert's
    // figures, the live token or a new one, commit.
    const concert = await lockConcertAndUser(em, input.concertId, userId);
    if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `concert ${input.concertId} does not exist`);

    const now = deps.clock.now();
    const found = await findOrInsertToken(em, input.concertId, userId);
    if (found.status === 'WAITING' || isUnlapsed(found, now)) return { concert, token: found, freedSlot: false };
    // an ACTIVE token past activeUntil is no longer a place: it expires now and the user starts again
    await em.execute(`update queue_token set status = 'EXPIRED', version = version + 1 where id = ? and status = 'ACTIVE'`, [found.id]);
    const token = (await insertWaitingToken(em, input.concertId, userId)) ?? (await findLiveToken(em, input.concertId, userId));
    if (!token) throw new Error(`no live token for user ${userId} in concert ${input.concertId} after entering`);
    return { concert, token, freedSlot: true };
  });
  if (entered.freedSlot) await nudgeAdmission(deps, input.concertId);

  const state = ticketState(entered.concert, entered.token, userId, deps.clock.now());
  const signed = await deps.tokens.sign({ tokenId: state.tokenId, userId, concertId: state.concertId, ticket: state.ticket });
  return toQueueTicket(signed, state);
}

/**
 * The concert's queue figures and, for a concert that exists, the two locks in order: the concert's lock
 * shared, then the (concert, user) lock (two int4 keys: a lock space apart from the admitter's single
 * bigint key). The figures are read as the statement began, so `admitted_through` may be a moment old:
 * a position that overestimates, as positions may (DESIGN.md, "The queue").
 */
async function lockConcertAndUser(em: EntityManager, concertId: string, userId: string): Promise<ConcertQueueRow | null> {
  const rows = await em.execute<ConcertQueueRow[]>(
    `select c.id, c.max_active, c.active_ttl_seconds, c.admitted_through, c.admit_rate_per_minute
       from concert c
       cross join lateral (select pg_advisory_xact_lock_shared(c.id) as shared, pg_advisory_xact_lock(hashtext(?), hashtext(?)) as mine) locked
      where c.id = ?`,
    [concertId, userId, concertId],
  );
  return rows[0] ?? null;
}

/**
 * Under the user's lock (taken by an earlier statement, so this one sees what a parallel entry committed):
 * the user's live token, or a new WAITING one. The ticket is drawn only when there is no live token, so a
 * user entering again burns no ticket.
 */
async function findOrInsertToken(em: EntityManager, concertId: string, userId: string): Promise<LiveTokenRow> {
  const rows = await em.execute<LiveTokenRow[]>(
    `with live as (
       select id, ticket, status, active_until from queue_token
        where concert_id = ? and user_id = ? and status in ('WAITING', 'ACTIVE')
     ), fresh as (
       insert into queue_token (concert_id, user_id, ticket, status)
       select ?, ?, nextval(?::regclass), 'WAITING' where not exists (select 1 from live)
       on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
       returning id, ticket, status, active_until
     )
     select id, ticket, status, active_until from live
     union all
     select id, ticket, status, active_until from fresh`,
    [concertId, userId, concertId, userId, ticketSequenceName(concertId)],
  );
  const row = rows[0];
  if (!row) throw new Error(`no live token for user ${userId} in concert ${concertId} after entering`);
  return row;
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
