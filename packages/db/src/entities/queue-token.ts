import { defineEntity, p } from '@mikro-orm/core';
import { Concert } from './concert.ts';

export const QUEUE_TOKEN_STATUSES = ['WAITING', 'ACTIVE', 'COMPLETED', 'EXPIRED', 'CANCELLED'] as const;
export type QueueTokenStatus = (typeof QUEUE_TOKEN_STATUSES)[number];
/** Why a token is EXPIRED, when the reason is not its own lapse (API.md, `expiredReason`). */
export const QUEUE_EXPIRED_REASONS = ['SALES_CLOSED', 'NO_SHOW'] as const;
export type QueueExpiredReason = (typeof QUEUE_EXPIRED_REASONS)[number];
export const LIVE_TOKEN_STATUSES = ['WAITING', 'ACTIVE'] as const satisfies readonly QueueTokenStatus[];

/** A user's place in a concert's waiting room. */
export const QueueTokenSchema = defineEntity({
  name: 'QueueToken',
  tableName: 'queue_token',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    concert: () => p.manyToOne(Concert),
    userId: p.uuid(),
    /** Per-concert, increasing place in line. */
    ticket: p.bigint('number'),
    status: p.string().$type<QueueTokenStatus>().default('WAITING'),
    activatedAt: p.datetime().nullable(),
    activeUntil: p.datetime().nullable(),
    expiredReason: p.string().$type<QueueExpiredReason>().nullable(),
    /** When the admitted user first showed up (a call with the ACTIVE token): set once, never again. */
    claimedAt: p.datetime().nullable(),
    /** A pre-queued token's ticket at issue (its signed claims name it); `ticket` is its place after the opening shuffle. */
    preTicket: p.bigint('number').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    version: p.integer().version(),
  },
});

export class QueueToken extends QueueTokenSchema.class {
  /** ACTIVE and not past `activeUntil`: the guard's test, true whether or not the admitter has run. */
  isAdmittedAt(now: Date): boolean {
    return this.status === 'ACTIVE' && this.activeUntil !== null && this.activeUntil !== undefined && this.activeUntil > now;
  }

  /** A hold keeps its holder admitted at least until the hold lapses (invariant 5). */
  extendTo(until: Date): void {
    if (this.activeUntil === null || this.activeUntil === undefined || this.activeUntil < until) this.activeUntil = until;
  }
}
QueueTokenSchema.setClass(QueueToken);
