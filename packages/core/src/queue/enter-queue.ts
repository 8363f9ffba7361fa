import { z } from 'zod';
import { type ScriptStatement, executeScript, ticketSequenceName } from '@frontrow/db';
import type { EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import type { EnterBatcher } from './enter-batcher.ts';
import { DomainError } from '../errors.ts';
import { replaying } from '../unit-of-work.ts';
import { concertIdSchema } from './concert-id.ts';
import { type ConcertQueueRow, concertQueueColumns, readConcertQueue } from './concert-queue.ts';
import { ENTRY_OPEN_SQL, type EntryRefusal, LAPSED_TOKEN_SQL, NO_SHOW_SQL, entryRefusal } from './crowd-rules.ts';
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
 *
 * With `entries` (the API's `EnterBatcher`), the entries of this process that arrive within a few
 * milliseconds of each other are written together, in one round trip (`enterGroup`); without it, alone
 * (a group of one, the same statements).
 */
export async function enterQueue(
  deps: Deps & { tokens: TokenSigner; entries?: EnterBatcher | undefined },
  raw: EnterQueueInput,
): Promise<QueueTicket> {
  const input = enterQueueInput.parse(raw);
  const entry = { concertId: input.concertId, userId: input.userId.toLowerCase() };
  const { userId } = entry;
  const now = deps.clock.now();
  let entered = answer(entry, await (deps.entries ? deps.entries.enter(entry) : enterAlone(deps.em, entry)));
  if (entered && entered.token.status === 'ACTIVE' && ticketState(entered.concert, entered.token, userId, now).status === 'EXPIRED') {
    // an ACTIVE token past activeUntil, or a no-show's, is no longer a place: it expires now and the user
    // starts again, by the same statements (a parallel entry of this user that expired it first is found, not doubled)
    const lapsed = entered.token.id;
    await replaying(() =>
      deps.em.execute(
        `update queue_token t
            set status = 'EXPIRED', expired_reason = case when ${NO_SHOW_SQL('t', 'c', '?::timestamptz')} then 'NO_SHOW' end, version = t.version + 1
           from concert c
          where t.id = ? and c.id = t.concert_id and t.status = 'ACTIVE' and (${LAPSED_TOKEN_SQL('t', '?')} or ${NO_SHOW_SQL('t', 'c', '?::timestamptz')})`,
        [now, lapsed, now, now],
      ),
    );
    entered = answer(entry, await enterAlone(deps.em, entry));
    await nudgeAdmission(deps, input.concertId);
  }
  if (!entered) throw new DomainError('CONCERT_NOT_FOUND', `concert ${input.concertId} does not exist`);

  const state = ticketState(entered.concert, entered.token, userId, deps.clock.now());
  const signed = await deps.tokens.sign({ tokenId: state.tokenId, userId, concertId: state.concertId, ticket: state.issuedTicket });
  return toQueueTicket(signed, state);
}

/** One entry: a concert id as the wire gives it (canonical digits) and a user id in lower case. */
export type Entry = { concertId: string; userId: string };

/** What an entry came to: a token, no such concert, or a refusal at the gate. */
export type EntryOutcome =
  | { kind: 'entered'; concert: ConcertQueueRow; token: LiveTokenRow }
  | { kind: 'not-found' }
  | { kind: 'refused'; refusal: EntryRefusal };

type Entered = { concert: ConcertQueueRow; token: LiveTokenRow };

function answer(entry: Entry, outcome: EntryOutcome): Entered | null {
  if (outcome.kind === 'not-found') return null;
  if (outcome.kind === 'entered') return outcome;
  if (outcome.refusal === 'SALES_CLOSED') throw new DomainError('SALES_CLOSED', `the sale of concert ${entry.concertId} has closed`);
  throw new DomainError('SOLD_OUT', `concert ${entry.concertId} is sold out`);
}

async function enterAlone(em: EntityManager, entry: Entry): Promise<EntryOutcome> {
  const outcomes = await replaying(() => enterGroup(em, [entry]));
  return outcomeOf(outcomes, entry);
}

/** The outcome of `entry` in a group's answer (every entry of a group has one). */
export function outcomeOf(outcomes: Map<string, EntryOutcome>, entry: Entry): EntryOutcome {
  const outcome = outcomes.get(entryKey(entry));
  if (!outcome) throw new Error(`no outcome for entry ${entryKey(entry)}`);
  return outcome;
}

export const entryKey = (entry: Entry) => `${entry.concertId}:${entry.userId}`;

/**
 * The entries of a group in one round trip (a flash crowd is made of these): three statements sent as one
 * script that PostgreSQL runs as one transaction — the concerts' figures with each concert's lock shared,
 * then every (concert, user) lock, then for each distinct (concert, user) the live token or a new one.
 * Locks are taken in one order everywhere (concerts by id, then users by their keys), so two groups never
 * wait for each other in a circle. The last statement takes its snapshot after every lock was granted,
 * so it sees a parallel entry of the same user (another group, another process) that committed meanwhile.
 * Tickets are drawn in the group's order of arrival, only for users with no live token, of a concert
 * that exists and takes entries. Entries of a concert that does not exist are `not-found` (its lock not taken,
 * no ticket drawn); those refused at the gate are `refused`, with the reason read after the script (its
 * first statement's figures may predate a close or sell-out it waited for). One outcome per distinct entry.
 */
export async function enterGroup(em: EntityManager, entries: Entry[]): Promise<Map<string, EntryOutcome>> {
  const distinct = [...new Map(entries.map((entry) => [entryKey(entry), entry])).values()];
  const concertIds = [...new Set(distinct.map((entry) => entry.concertId))];
  const [concerts, , tokens] = await executeScript(em, [
    { statement: LOCK_CONCERTS, values: [sqlArray(concertIds)] },
    { statement: LOCK_USERS, values: [sqlArray(distinct.map((e) => e.concertId)), sqlArray(distinct.map((e) => e.userId))] },
    {
      statement: LIVE_OR_NEW_TOKENS,
      values: [
        sqlArray(distinct.map((e) => e.concertId)),
        sqlArray(distinct.map((e) => e.userId)),
        sqlArray(distinct.map((e) => ticketSequenceName(e.concertId))),
      ],
    },
  ]);
  const concertById = new Map((concerts as ConcertQueueRow[]).map((row) => [String(row.id), row]));
  const tokenByKey = new Map(
    (tokens as (LiveTokenRow & { concert_id: string; user_id: string })[]).map((row) => [
      entryKey({ concertId: String(row.concert_id), userId: row.user_id }),
      row,
    ]),
  );
  const refusals = new Map<string, EntryRefusal | null>();
  const outcomes = new Map<string, EntryOutcome>();
  for (const entry of distinct) {
    const concert = concertById.get(entry.concertId);
    const token = tokenByKey.get(entryKey(entry));
    if (!concert) {
      outcomes.set(entryKey(entry), { kind: 'not-found' });
    } else if (token) {
      outcomes.set(entryKey(entry), { kind: 'entered', concert, token });
    } else {
      // refused at the gate, once per concert of the group: read the concert as it is now
      if (!refusals.has(entry.concertId)) {
        refusals.set(entry.concertId, entryRefusal((await readConcertQueue(em.fork(), entry.concertId)) ?? concert));
      }
      const refusal = refusals.get(entry.concertId);
      if (!refusal) throw new Error(`no live token for user ${entry.userId} in concert ${entry.concertId} after entering`);
      outcomes.set(entryKey(entry), { kind: 'refused', refusal });
    }
  }
  return outcomes;
}

/** A text array literal (`{"a","b"}`) of values checked by the input schemas (digits, uuids, sequence names). */
function sqlArray(values: string[]): string {
  return `{${values.map((value) => `"${value}"`).join(',')}}`;
}

/**
 * The queue figures of the group's concerts that exist, each concert's lock taken shared in the order of
 * its id. The figures are read as the statement began, so `admitted_through` may be a moment old: a
 * position that overestimates, as positions may (docs/ARCHITECTURE.md#the-queue).
 */
const LOCK_CONCERTS: ScriptStatement = {
  name: 'frontrow_enter_group_concerts',
  params: ['bigint[]'],
  text: `select c.id, ${concertQueueColumns('c')}
       from (select * from concert where id = any($1) order by id offset 0) c
       cross join lateral (select pg_advisory_xact_lock_shared(c.id) as shared) locked`,
};

/**
 * The (concert, user) locks of the group (two int4 keys: a lock space apart from the admitter's single
 * bigint key), in the order of their keys.
 */
const LOCK_USERS: ScriptStatement = {
  name: 'frontrow_enter_group_users',
  params: ['text[]', 'text[]'],
  text: `select count(pg_advisory_xact_lock(k.concert_key, k.user_key)) as locked
       from (select hashtext(e.concert_id) as concert_key, hashtext(e.user_id) as user_key
               from unnest($1, $2) as e(concert_id, user_id) order by 1, 2 offset 0) k`,
};

/**
 * For each (concert, user) of the group: the user's live token, or a new WAITING one with the concert's
 * next ticket, drawn in the group's order only for a concert that exists and takes entries (not closed,
 * not sold out; `closeSales` takes the concert's lock exclusively, so it never slips between this gate
 * and the commit).
 *
 * The live token is looked up entry by entry (a lateral `limit 1`: at most one live token per user, by
 * the unique index): a plain join let the planner, with statistics from before the crowd, read every live
 * token of every concert into a hash for each group, so an entry cost more the longer the line
 * (enter-plan.int.test.ts).
 */
export const LIVE_OR_NEW_TOKENS: ScriptStatement = {
  name: 'frontrow_enter_group_tokens',
  params: ['bigint[]', 'uuid[]', 'text[]'],
  text: `with wanted as (
       select e.concert_id, e.user_id, e.sequence, e.arrival
         from unnest($1, $2, $3) with ordinality as e(concert_id, user_id, sequence, arrival)
     ), live as (
       select t.concert_id, t.user_id, t.id, t.ticket, t.status, t.active_until, t.activated_at, t.claimed_at, t.pre_ticket
         from wanted w cross join lateral (
                select t.concert_id, t.user_id, t.id, t.ticket, t.status, t.active_until, t.activated_at, t.claimed_at, t.pre_ticket
                  from queue_token t
                 where t.concert_id = w.concert_id and t.user_id = w.user_id and t.status in ('WAITING', 'ACTIVE')
                 limit 1) t
     ), fresh as (
       insert into queue_token (concert_id, user_id, ticket, status)
       select n.concert_id, n.user_id, nextval(n.sequence::regclass), 'WAITING'
         from (select w.concert_id, w.user_id, w.sequence from wanted w join concert c on c.id = w.concert_id
                where not exists (select 1 from live l where l.concert_id = w.concert_id and l.user_id = w.user_id)
                  and ${ENTRY_OPEN_SQL('c')}
                order by w.arrival offset 0) n
       on conflict (concert_id, user_id) where status in ('WAITING', 'ACTIVE') do nothing
       returning concert_id, user_id, id, ticket, status, active_until, activated_at, claimed_at, pre_ticket
     )
     select concert_id, user_id, id, ticket, status, active_until, activated_at, claimed_at, pre_ticket from live
     union all
     select concert_id, user_id, id, ticket, status, active_until, activated_at, claimed_at, pre_ticket from fresh`,
};

function ticketState(concert: ConcertQueueRow, token: LiveTokenRow, userId: string, now: Date): TicketState {
  return ticketStateOf(String(token.id), { ...concert, concert_id: concert.id, user_id: userId, ...token, expired_reason: null }, now);
}
