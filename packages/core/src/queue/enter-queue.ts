import { z } from 'zod';
import { type ScriptStatement, executeScript, ticketSequenceName } from '@frontrow/db';
import type { EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { replaying } from '../unit-of-work.ts';
import { concertIdSchema } from './concert-id.ts';
import { type ConcertQueueRow, concertQueueColumns, readConcertQueue } from './concert-queue.ts';
import { ENTRY_OPEN_SQL, NO_SHOW_SQL, entryRefusal } from './crowd-rules.ts';
import { nudgeAdmission } from './nudge-admission.ts';
import { type QueueTicket, type TicketState, ticketStateOf, toQueueTicket } from './ticket.ts';
import type { TokenSigner } from './token-signer.ts';

export const enterQueueInput = z.object({ concertId: concertIdSchema, userId: z.uuid() });
export type EnterQueueInput = z.input<typeof enterQueueInput>;

type LiveTokenRow = {
  id: string;
  ticket: string;
  status: 'WAITING' | 'ACTIVE';
  active_until: Date | null;
  activated_at: Date | null;
  claimed_at: Date | null;
  pre_ticket: string | null;
};

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
  const now = deps.clock.now();
  // the locks wait at most lock_timeout (the admitter holds the concert's for a round): a wait that runs
  // out is replayed like any unit of work's, then BUSY
  let entered = await replaying(() => enterAtOnce(deps.em, input.concertId, userId));
  if (entered && entered.token.status === 'ACTIVE' && ticketState(entered.concert, entered.token, userId, now).status === 'EXPIRED') {
    // an ACTIVE token past activeUntil, or a no-show's, is no longer a place: it expires now and the user
    // starts again, by the same script (a parallel entry of this user that expired it first is found, not doubled)
    const lapsed = entered.token.id;
    await replaying(() =>
      deps.em.execute(
        `update queue_token t
            set status = 'EXPIRED', expired_reason = case when ${NO_SHOW_SQL('t', 'c', '?::timestamptz')} then 'NO_SHOW' end, version = t.version + 1
           from concert c
          where t.id = ? and c.id = t.concert_id and t.status = 'ACTIVE' and (t.active_until <= ? or ${NO_SHOW_SQL('t', 'c', '?::timestamptz')})`,
        [now, lapsed, now, now],
      ),
    );
    entered = await replaying(() => enterAtOnce(deps.em, input.concertId, userId));
    await nudgeAdmission(deps, input.concertId);
  }
  if (!entered) throw new DomainError('CONCERT_NOT_FOUND', `concert ${input.concertId} does not exist`);

  const state = ticketState(entered.concert, entered.token, userId, deps.clock.now());
  const signed = await deps.tokens.sign({ tokenId: state.tokenId, userId, concertId: state.concertId, ticket: state.issuedTicket });
  return toQueueTicket(signed, state);
}

type Entered = { concert: ConcertQueueRow; token: LiveTokenRow };

/**
 * The common case in one round trip (a flash crowd is made of these): the two locks with the concert's
 * figures, then the live token or a new one, sent as one script that PostgreSQL runs as one transaction.
 * The second statement takes its snapshot after the first got the user's lock, so it sees a parallel
 * entry of the same user that committed meanwhile. Null for a concert that does not exist (no lock was
 * taken and no ticket drawn: the insert draws only for a concert row it found).
 */
async function enterAtOnce(em: EntityManager, concertId: string, userId: string): Promise<Entered | null> {
  const [concerts, tokens] = await executeScript(em, [
    { statement: LOCK_CONCERT_AND_USER, values: [concertId, userId] },
    { statement: LIVE_OR_NEW_TOKEN, values: [concertId, userId, ticketSequenceName(concertId)] },
  ]);
  const row = concerts?.[0] as ConcertQueueRow | undefined;
  if (!row) return null;
  const token = tokens?.[0] as LiveTokenRow | undefined;
  if (!token) {
    // refused at the gate: the first statement's figures may predate a close or sell-out it waited for
    const now = (await readConcertQueue(em, concertId)) ?? row;
    const refusal = entryRefusal(now);
    if (refusal === 'SALES_CLOSED') throw new DomainError('SALES_CLOSED', `the sale of concert ${concertId} has closed`);
    if (refusal === 'SOLD_OUT') throw new DomainError('SOLD_OUT', `concert ${concertId} is sold out`);
    throw new Error(`no live token for user ${userId} in concert ${concertId} after entering`);
  }
  return { concert: row, token };
}

/**
 * The concert's queue figures and, for a concert that exists, the two locks in order: the concert's lock
 * shared, then the (concert, user) lock (two int4 keys: a lock space apart from the admitter's single
 * bigint key). The figures are read as the statement began, so `admitted_through` may be a moment old:
 * a position that overestimates, as positions may (docs/ARCHITECTURE.md#the-queue).
 */
const LOCK_CONCERT_AND_USER: ScriptStatement = {
  name: 'frontrow_enter_locks',
  params: ['text', 'text'],
  text: `select c.id, ${concertQueueColumns('c')}
       from concert c
       cross join lateral (select pg_advisory_xact_lock_shared(c.id) as shared, pg_advisory_xact_lock(hashtext($1), hashtext($2)) as mine) locked
      where c.id = $1::bigint`,
};

/**
 * The user's live token, or a new WAITING one with the next ticket (drawn only for a concert that exists
 * and takes entries: not closed, not sold out; `closeSales` takes the concert's lock exclusively, so it
 * never slips between this gate and the commit).
 */
const LIVE_OR_NEW_TOKEN: ScriptStatement = {
  name: 'frontrow_enter_token',
  params: ['bigint', 'uuid', 'text'],
  text: `with live as (
       select id, ticket, status, active_until, activated_at, claimed_at, pre_ticket from queue_token
        where concert_id = $1 and user_id = $2 and status in ('WAITING', 'ACTIVE')
     ), fresh as (
       insert into queue_token (concert_id, user_id, ticket, status)
       select c.id, $2, nextval($3::regclass), 'WAITING'
         from concert c where c.id = $1 and not exists (select 1 from live) and ${ENTRY_OPEN_SQL('c')}
       on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
       returning id, ticket, status, active_until, activated_at, claimed_at, pre_ticket
     )
     select id, ticket, status, active_until, activated_at, claimed_at, pre_ticket from live
     union all
     select id, ticket, status, active_until, activated_at, claimed_at, pre_ticket from fresh`,
};

function ticketState(concert: ConcertQueueRow, token: LiveTokenRow, userId: string, now: Date): TicketState {
  return ticketStateOf(String(token.id), { ...concert, concert_id: concert.id, user_id: userId, ...token, expired_reason: null }, now);
}
