/**
 * The waiting room's crowd rules as pure functions of (token row, concert row, now), with the SQL
 * fragments of the same rules beside them: the status read, the admitter and `queue.enter` use these,
 * and so can any path that keeps the rows elsewhere (e.g. in memory). Each function and its fragment are
 * tested to agree (crowd-rules.int.test.ts).
 */
import type { QueueExpiredReason, QueueTokenStatus } from '@frontrow/db';
import { UPCOMING_SQL } from '../booking/upcoming.ts';

/** A ticket's status on the wire: a token's, or PRE_QUEUE (WAITING before the opening shuffle). */
export const QUEUE_TICKET_STATUSES = ['PRE_QUEUE', 'WAITING', 'ACTIVE', 'COMPLETED', 'EXPIRED', 'CANCELLED'] as const;
export type QueueTicketStatus = (typeof QUEUE_TICKET_STATUSES)[number];

/** The concert columns the crowd rules read (snake_case, as the rows come from SQL). */
export type ConcertCrowdColumns = {
  paused: boolean;
  /** The operator's cap on admissions over any minute (null: none); the estimate uses it. */
  admit_per_minute: number | null;
  /** The arrival window: seconds after admission within which the user must show up. */
  arrival_seconds: number;
  /** The opening of a sale with a pre-queue; null: none. */
  sales_open_at: Date | string | null;
  /** When the opening shuffle ran; null before. */
  opened_at: Date | string | null;
  /** The highest ticket the opening shuffle dealt (null before it, or with no pre-queue). */
  opened_through: string | number | null;
  sales_closed_at: Date | string | null;
  sold_out: boolean;
};

/** The token columns the crowd rules read. */
export type TokenCrowdColumns = {
  status: QueueTokenStatus;
  active_until: Date | string | null;
  expired_reason: QueueExpiredReason | null;
  activated_at: Date | string | null;
  /** The user's first call with the ACTIVE token (the arrival); null until then. */
  claimed_at: Date | string | null;
  /** A pre-queued token's ticket at issue (what its claims name), once the shuffle gave it another. */
  pre_ticket: string | number | null;
};

/** The token's crowd columns as a select list of table alias `t`. */
export const TOKEN_CROWD_COLUMNS = (t: string) => `${t}.expired_reason, ${t}.activated_at, ${t}.claimed_at, ${t}.pre_ticket`;

/** The concert's crowd columns as a select list of table alias `c` (extend the queue reads with it). */
export const CONCERT_CROWD_COLUMNS = (c: string) =>
  `${c}.paused, ${c}.sales_closed_at, ${c}.sold_out, ${c}.admit_per_minute, ${c}.arrival_seconds, ${c}.sales_open_at, ${c}.opened_at, ${c}.opened_through`;

export type EffectiveStatus = { status: QueueTicketStatus; expiredReason: QueueExpiredReason | null };

/** A token's admission columns, as an entity (`QueueToken`) or a row read in SQL has them. */
export type TokenAdmission = { status: QueueTokenStatus | null; activeUntil: Date | string | null | undefined };

/**
 * Admitted (invariant 4): ACTIVE and not past `activeUntil` at `now`, whether or not the admitter has run.
 * The one rule behind every guard, the hold's and the payment's lock-time checks and every count of the
 * admitted (`queue status`, `/metrics`, the bench): `ADMITTED_TOKEN_SQL` is the same test in SQL.
 */
export function isAdmittedToken(token: TokenAdmission, now: Date): boolean {
  // no deadline reads as the epoch: never admitted (an ACTIVE row always has one, queue_token_active_has_deadline)
  return token.status === 'ACTIVE' && new Date(token.activeUntil ?? 0) > now;
}

/** `isAdmittedToken` in SQL, for token alias `t` and a timestamptz expression `now` (a parameter, or `now()`). */
export const ADMITTED_TOKEN_SQL = (t: string, now: string) => `(${t}.status = 'ACTIVE' and ${t}.active_until > ${now})`;

/**
 * Lapsed: ACTIVE but no longer admitted (past `activeUntil`): the admitter, and the user's next entry,
 * set it EXPIRED. An ACTIVE row always has an `activeUntil` (`queue_token_active_has_deadline`).
 */
export function isLapsedToken(token: TokenAdmission, now: Date): boolean {
  return token.status === 'ACTIVE' && !isAdmittedToken(token, now);
}

/** `isLapsedToken` in SQL, for token alias `t` and a timestamptz expression `now` (the `queue_token_active` index's range). */
export const LAPSED_TOKEN_SQL = (t: string, now: string) => `(${t}.status = 'ACTIVE' and ${t}.active_until <= ${now})`;

/** The sale has a pre-queue that has not opened yet (the admitter's opening shuffle has not run). */
export function isPreQueue(concert: Pick<ConcertCrowdColumns, 'sales_open_at' | 'opened_at'>): boolean {
  return concert.sales_open_at !== null && concert.opened_at === null;
}

/** `isPreQueue` in SQL, for concert alias `c`. */
export const PRE_QUEUE_SQL = (c: string) => `(${c}.sales_open_at is not null and ${c}.opened_at is null)`;

/**
 * A ticket issued before the opening no longer names its place: the shuffle dealt the pre-queue's tickets
 * out again, so only the token's row (its `ticket`, the place; its `pre_ticket`, what its claims name)
 * knows where it stands. Such a ticket's position is never computed from the ticket alone.
 */
export function isShuffledTicket(concert: Pick<ConcertCrowdColumns, 'opened_through'>, issuedTicket: number): boolean {
  // before an opening nothing was dealt: tickets start at 1
  return issuedTicket <= Number(concert.opened_through ?? 0);
}

/** The opening is due: a pre-queue whose opening time has come (`now` ≥ `sales_open_at`). */
export function isOpeningDue(concert: Pick<ConcertCrowdColumns, 'sales_open_at' | 'opened_at'>, now: Date): boolean {
  return isPreQueue(concert) && new Date(concert.sales_open_at as Date | string).getTime() <= now.getTime();
}

/**
 * What a token is at `now`, whether or not the admitter or the operator's command got to it yet:
 * - an ACTIVE token past `activeUntil` is EXPIRED (its own lapse: no reason);
 * - a WAITING token of a concert whose sale has closed is EXPIRED with reason SALES_CLOSED
 *   (`closeSales` writes exactly that, in the same transaction as the close);
 * - an ACTIVE token nobody has claimed within the arrival window is EXPIRED with reason NO_SHOW (the
 *   admitter writes that, and fills the slot);
 * - a WAITING token of a sale whose pre-queue has not opened is PRE_QUEUE (no place yet).
 */
export function effectiveStatus(
  token: TokenCrowdColumns,
  concert: Pick<ConcertCrowdColumns, 'sales_closed_at' | 'arrival_seconds' | 'sales_open_at' | 'opened_at'>,
  now: Date,
): EffectiveStatus {
  if (isLapsedToken({ status: token.status, activeUntil: token.active_until }, now)) return { status: 'EXPIRED', expiredReason: null };
  if (isNoShow(token, concert, now)) return { status: 'EXPIRED', expiredReason: 'NO_SHOW' };
  if (token.status === 'WAITING' && concert.sales_closed_at !== null) return { status: 'EXPIRED', expiredReason: 'SALES_CLOSED' };
  if (token.status === 'WAITING' && isPreQueue(concert)) return { status: 'PRE_QUEUE', expiredReason: null };
  return { status: token.status, expiredReason: token.status === 'EXPIRED' ? token.expired_reason : null };
}

/** ACTIVE, never claimed, and the arrival window since admission has run out (`NO_SHOW_SQL`). */
export function isNoShow(token: TokenCrowdColumns, concert: Pick<ConcertCrowdColumns, 'arrival_seconds'>, now: Date): boolean {
  return (
    token.status === 'ACTIVE' &&
    token.claimed_at === null &&
    token.activated_at !== null &&
    new Date(token.activated_at).getTime() + concert.arrival_seconds * 1000 <= now.getTime()
  );
}

/** `isNoShow` in SQL, for token alias `t`, concert alias `c` and a timestamptz expression `now`. */
export const NO_SHOW_SQL = (t: string, c: string, now: string) =>
  `(${t}.status = 'ACTIVE' and ${t}.claimed_at is null and ${t}.activated_at is not null
    and ${t}.activated_at + make_interval(secs => ${c}.arrival_seconds) <= ${now})`;

/** Why a new entry into the line is refused, or null when it is welcome. */
export type EntryRefusal = 'SALES_CLOSED' | 'SOLD_OUT';

export function entryRefusal(concert: ConcertCrowdColumns): EntryRefusal | null {
  if (concert.sales_closed_at !== null) return 'SALES_CLOSED';
  if (concert.sold_out) return 'SOLD_OUT';
  return null;
}

/** `entryRefusal(c) === null` in SQL, for concert alias `c`: the gate of `queue.enter`'s insert. */
export const ENTRY_OPEN_SQL = (c: string) => `(${c}.sales_closed_at is null and not ${c}.sold_out)`;

/** Why the admitter admits nobody now, or null when it admits into free places. */
export type AdmissionHalt = 'PAUSED' | 'SALES_CLOSED' | 'SOLD_OUT' | 'PRE_QUEUE';

export function admissionHalt(concert: ConcertCrowdColumns): AdmissionHalt | null {
  if (concert.sales_closed_at !== null) return 'SALES_CLOSED';
  if (isPreQueue(concert)) return 'PRE_QUEUE';
  if (concert.paused) return 'PAUSED';
  if (concert.sold_out) return 'SOLD_OUT';
  return null;
}

/** `admissionHalt(c) === null` in SQL, for concert alias `c`. */
export const ADMISSION_OPEN_SQL = (c: string) =>
  `(${c}.sales_closed_at is null and not ${PRE_QUEUE_SQL(c)} and not ${c}.paused and not ${c}.sold_out)`;

/**
 * Sold out: no seat of a performance after `$now` is AVAILABLE or HELD (a HELD seat may come back when
 * its hold lapses or is released). A boolean expression over concert id `concertParam` and time `nowParam`.
 */
export const SOLD_OUT_SQL = (concertParam: string, nowParam: string) =>
  `not exists (select 1 from schedule d join seat s on s.schedule_id = d.id
                where d.concert_id = ${concertParam} and ${UPCOMING_SQL('d', nowParam)} and s.status in ('AVAILABLE', 'HELD'))`;
