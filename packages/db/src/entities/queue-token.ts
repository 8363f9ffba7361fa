import { defineEntity, p } from '@mikro-orm/core';
import { Concert } from './concert.ts';

export const QUEUE_TOKEN_STATUSES = ['WAITING', 'ACTIVE', 'COMPLETED', 'EXPIRED', 'CANCELLED'] as const;
export type QueueTokenStatus = (typeof QUEUE_TOKEN_STATUSES)[number];
/** Why a token is EXPIRED, when the reason is not its own lapse (API.md, `expiredReason`). */
export const QUEUE_EXPIRED_REASONS = ['SALES_CLOSED', 'NO_SHOW'] as const;
export type QueueExpiredReason = (typeof QUEUE_EXPIRED_REASONS)[number];

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
    status: p.string().length(16).$type<QueueTokenStatus>().default('WAITING'),
    activatedAt: p.datetime().nullable(),
    activeUntil: p.datetime().nullable(),
    expiredReason: p.string().length(20).$type<QueueExpiredReason>().nullable(),
    /** When the admitted user first showed up (a call with the ACTIVE token): set once, never again. */
    claimedAt: p.datetime().nullable(),
    /** A pre-queued token's ticket at issue (its signed claims name it); `ticket` is its place after the opening shuffle. */
    preTicket: p.bigint('number').nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** When the token entered a final status: stamped by the database (migration 0008), never written here. */
    finishedAt: p.datetime().nullable(),
    version: p.integer().version(),
  },
  // named as the migrations build them (entity-schema.int.test.ts); partial-index predicates live there
  uniques: [
    { name: 'queue_token_concert_ticket_unique', properties: ['concert', 'ticket'] },
    { name: 'queue_token_live_per_user', properties: ['concert', 'userId'] },
  ],
  indexes: [
    { name: 'queue_token_waiting', properties: ['concert', 'ticket'] },
    { name: 'queue_token_active', properties: ['concert', 'activeUntil'] },
    { name: 'queue_token_activated_at', properties: ['concert', 'activatedAt'] },
    { name: 'queue_token_finished', properties: ['concert', 'ticket'] },
    { name: 'queue_token_finished_at', properties: ['finishedAt'] },
  ],
});

/** Whether a token is admitted at a time is the queue's rule: `isAdmittedToken` in packages/core/src/queue/crowd-rules.ts. */
export class QueueToken extends QueueTokenSchema.class {
  /**
   * The latest a hold may keep this token ACTIVE: admission + active time + one hold time (API.md), so
   * hold, cancel, hold… cannot squat a place. Undefined for a token with no admission time (rows from
   * before it was recorded): they keep the old rule, unbounded.
   */
  holdCapAt(activeTtlSeconds: number, holdTtlSeconds: number): number | undefined {
    return this.activatedAt ? this.activatedAt.getTime() + (activeTtlSeconds + holdTtlSeconds) * 1000 : undefined;
  }

  /**
   * A new hold (invariant 5): ACTIVE at least until the latest of the user's live holds lapses, within the
   * cap; never shortened (a later `activeUntil` is the admission's own).
   */
  extendForHold(liveHoldExpiries: readonly Date[], activeTtlSeconds: number, holdTtlSeconds: number): void {
    const latest = Math.max(...liveHoldExpiries.map((expiry) => expiry.getTime()));
    const until = Math.min(latest, this.holdCapAt(activeTtlSeconds, holdTtlSeconds) ?? latest);
    if (!this.activeUntil || this.activeUntil.getTime() < until) this.activeUntil = new Date(until);
  }

  /**
   * A hold cancelled extends nothing any more: ACTIVE only until the admission's active time ends or the
   * user's other live holds lapse, whichever is later, within the cap; never lengthened.
   */
  shortenAfterCancel(otherLiveHoldExpiries: readonly Date[], activeTtlSeconds: number, holdTtlSeconds: number): void {
    const cap = this.holdCapAt(activeTtlSeconds, holdTtlSeconds);
    if (cap === undefined || !this.activatedAt || !this.activeUntil) return;
    const admittedUntil = this.activatedAt.getTime() + activeTtlSeconds * 1000;
    const until = Math.min(cap, Math.max(admittedUntil, ...otherLiveHoldExpiries.map((expiry) => expiry.getTime())));
    if (until < this.activeUntil.getTime()) this.activeUntil = new Date(until);
  }
}
QueueTokenSchema.setClass(QueueToken);
