import type { QueueExpiredReason, QueueTokenStatus } from '@frontrow/db';
import { type PreparedSource, queryPrepared } from '@frontrow/db/pg';
import { DomainError } from '../errors.ts';
import { type ConcertQueueRow, concertQueueColumns } from './concert-queue.ts';
import { NO_SHOW_SQL, type QueueTicketStatus, TOKEN_CROWD_COLUMNS, type TokenCrowdColumns, effectiveStatus } from './crowd-rules.ts';
import { estimateWaitSeconds, positionOf } from './position.ts';
import type { TokenClaims } from './token-signer.ts';

/** The wire shape of API.md's `QueueTicket`. */
export type QueueTicket = {
  token: string;
  userId: string;
  concertId: string;
  status: QueueTicketStatus;
  position: number | null;
  estimatedWaitSeconds: number | null;
  activeUntil: string | null;
  /** The operator paused admission: the line does not move (no estimate) until resumed. */
  paused: boolean;
  /** No seat of a future date is AVAILABLE or HELD: waiting is likely in vain. */
  soldOut: boolean;
  /** Why an EXPIRED token ended when it was not its own lapse (`SALES_CLOSED`, `NO_SHOW`); else null. */
  expiredReason: QueueExpiredReason | null;
  /** While PRE_QUEUE: when the sale opens (and the pre-queue gets its random order); else null. */
  salesOpenAt: string | null;
};

/** A token as the database has it now, with its concert's queue figures: what the guard and `queue.status` need. */
export type TicketState = {
  tokenId: string;
  userId: string;
  concertId: string;
  /** The place in the concert's line (after the opening shuffle, for a pre-queued token). */
  ticket: number;
  /** The ticket the token was issued with, which its signed claims name (differs from `ticket` after a shuffle). */
  issuedTicket: number;
  /** Effective status (crowd-rules.ts `effectiveStatus`): e.g. an ACTIVE token past `activeUntil` reads EXPIRED before the admitter catches up. */
  status: QueueTicketStatus;
  expiredReason: QueueExpiredReason | null;
  activeUntil: Date | null;
  /** When the admitted user first showed up; null until then (see `arrive`). */
  claimedAt: Date | null;
  admittedThrough: number;
  admitRatePerMinute: number | null;
  maxActive: number;
  /** ACTIVE tokens after the admitter's last round. */
  activeCount: number;
  activeTtlSeconds: number;
  paused: boolean;
  soldOut: boolean;
  admitPerMinute: number | null;
  salesOpenAt: Date | null;
};

/** A token row joined with its concert's queue figures. */
export type TicketRow = {
  user_id: string;
  concert_id: string;
  ticket: string;
  status: QueueTokenStatus;
  active_until: Date | null;
} & TokenCrowdColumns &
  Omit<ConcertQueueRow, 'id'>;

/** Statuses a token never leaves. */
export const FINAL_STATUSES: ReadonlySet<QueueTicketStatus> = new Set<QueueTicketStatus>(['COMPLETED', 'EXPIRED', 'CANCELLED']);

/** A token's state: its row `t` joined with its concert `c`, both by primary key. */
const TICKET_COLUMNS = `t.user_id, t.concert_id, t.ticket, t.status, t.active_until, ${TOKEN_CROWD_COLUMNS('t')}, ${concertQueueColumns('c')}`;
const TICKET_FROM = 'from queue_token t join concert c on c.id = t.concert_id';

/** The status read: one row by the token's primary key, joined with its concert by primary key. */
export const TICKET_STATE_SQL = `select ${TICKET_COLUMNS}
       ${TICKET_FROM}
      where t.id = ?`;
const TICKET_STATE_PREPARED = TICKET_STATE_SQL.replace('t.id = ?', 't.id = $1');

/**
 * The status read of token `$1` with more columns computed from the same row (`t`, `c`): a procedure
 * that needs the token's state and one more answer pays one round trip for both.
 */
export function ticketStateSqlWith(columns: string): string {
  return `select ${TICKET_COLUMNS}, ${columns}
       ${TICKET_FROM}
      where t.id = $1`;
}

/**
 * One indexed read by primary key (the hot path of polling): no transaction, no identity map.
 * Null when no such token exists or it does not match the signed claims.
 */
export async function readTicketState(em: PreparedSource, claims: TokenClaims, now: Date): Promise<TicketState | null> {
  // a named prepared statement: every poll runs it, and parsing and planning it each time cost PostgreSQL
  // more than running it (docs/BENCHMARKS.md)
  const rows = await queryPrepared<TicketRow>(em, 'frontrow_ticket_state', TICKET_STATE_PREPARED, [claims.tokenId]);
  return await arrive(em, claimedTicketState(claims, rows[0], now), now);
}

/**
 * The admitted user shows up: the first read of an ACTIVE token by its holder (a status read, a watch's
 * read, any guarded call) claims the slot, so the admitter does not free it as a no-show. At most one
 * write per token, ever: only a state read as unclaimed writes, and only while the arrival window is open
 * (`NO_SHOW_SQL`: a token the admitter is freeing meanwhile is not claimed, and their row lock orders the
 * two). Returns the state as claimed, or as read when there was nothing to claim.
 */
export async function arrive(em: PreparedSource, state: TicketState | null, now: Date): Promise<TicketState | null> {
  if (state === null || state.status !== 'ACTIVE' || state.claimedAt !== null) return state;
  const claimed = await queryPrepared<{ id: string }>(em, 'frontrow_claim_arrival', CLAIM_ARRIVAL_SQL, [state.tokenId, now]);
  return claimed.length > 0 ? { ...state, claimedAt: now } : state;
}

const CLAIM_ARRIVAL_SQL = `update queue_token t set claimed_at = $2, version = t.version + 1
   from concert c
  where t.id = $1 and c.id = t.concert_id and t.status = 'ACTIVE' and t.claimed_at is null and not ${NO_SHOW_SQL('t', 'c', '$2::timestamptz')}
  returning t.id`;

/** The state of the row read for a token's claims, or null when there is none or it does not match them. */
export function claimedTicketState(claims: TokenClaims, row: TicketRow | undefined, now: Date): TicketState | null {
  if (!row || row.user_id !== claims.userId || String(row.concert_id) !== claims.concertId || issuedTicketOf(row) !== claims.ticket) {
    return null;
  }
  return ticketStateOf(claims.tokenId, row, now);
}

/** The ticket a token was issued (and signed) with: a pre-queued token keeps it in `pre_ticket` once shuffled. */
function issuedTicketOf(row: Pick<TicketRow, 'ticket' | 'pre_ticket'>): number {
  return Number(row.pre_ticket ?? row.ticket);
}

/** The effective state of a token row at `now` (crowd-rules.ts): a lapsed ACTIVE token reads EXPIRED, and so on. */
export function ticketStateOf(tokenId: string, row: TicketRow, now: Date): TicketState {
  const activeUntil = row.active_until === null ? null : new Date(row.active_until);
  const effective = effectiveStatus(row, row, now);
  return {
    tokenId,
    userId: row.user_id,
    concertId: String(row.concert_id),
    ticket: Number(row.ticket),
    issuedTicket: issuedTicketOf(row),
    status: effective.status,
    expiredReason: effective.expiredReason,
    activeUntil,
    claimedAt: row.claimed_at === null ? null : new Date(row.claimed_at),
    admittedThrough: Number(row.admitted_through),
    admitRatePerMinute: row.admit_rate_per_minute,
    maxActive: row.max_active,
    activeCount: row.active_count,
    activeTtlSeconds: row.active_ttl_seconds,
    paused: row.paused,
    soldOut: row.sold_out,
    admitPerMinute: row.admit_per_minute,
    salesOpenAt: row.sales_open_at === null ? null : new Date(row.sales_open_at),
  };
}

export function toQueueTicket(token: string, state: TicketState): QueueTicket {
  const waiting = state.status === 'WAITING';
  const position = waiting ? positionOf(state.ticket, state.admittedThrough) : null;
  return {
    token,
    userId: state.userId,
    concertId: state.concertId,
    status: state.status,
    position,
    // a paused or sold-out line does not move: no estimate until it does
    estimatedWaitSeconds: position === null || state.paused || state.soldOut ? null : estimateWaitSeconds(position, state),
    activeUntil: state.status === 'ACTIVE' && state.activeUntil ? state.activeUntil.toISOString() : null,
    paused: waiting && state.paused,
    soldOut: waiting && state.soldOut,
    expiredReason: state.status === 'EXPIRED' ? state.expiredReason : null,
    salesOpenAt: state.status === 'PRE_QUEUE' && state.salesOpenAt ? state.salesOpenAt.toISOString() : null,
  };
}

/** The admitted guard's rule (invariant 4): only an ACTIVE, unlapsed token passes. */
export function assertAdmitted(state: TicketState): void {
  if (state.status === 'WAITING' || state.status === 'PRE_QUEUE') {
    throw new DomainError('QUEUE_NOT_ADMITTED', 'your token is still waiting in the queue');
  }
  if (state.status !== 'ACTIVE') throw new DomainError('TOKEN_EXPIRED', `your token is ${state.status}; enter the queue again`);
}

/** A token belongs to one concert. */
export function assertTicketConcert(state: Pick<TicketState, 'concertId'>, concertId: string): void {
  if (state.concertId !== concertId)
    throw new DomainError('WRONG_CONCERT', `your token is for concert ${state.concertId}, not ${concertId}`);
}
