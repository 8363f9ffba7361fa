import { defineEntity, p } from '@mikro-orm/core';

/** A concert, with its waiting-room settings and the admitter's running figures. */
export const ConcertSchema = defineEntity({
  name: 'Concert',
  tableName: 'concert',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    title: p.string().length(200),
    venue: p.string().length(200),
    maxActive: p.integer(),
    activeTtlSeconds: p.integer(),
    /** Highest ticket admitted so far: a WAITING token's position is `ticket - admittedThrough`. */
    admittedThrough: p.bigint('number').default(0),
    /** Admissions per minute, measured by the admitter over the last minutes; null until measured. */
    admitRatePerMinute: p.double().nullable(),
    /** ACTIVE tokens as the admitter's last round left them (a place freed since then is not counted free yet). */
    activeCount: p.integer().default(0),
    /** The operator paused admission (`frontrow queue pause`): the admitter admits nobody while set. */
    paused: p.boolean().default(false),
    /** When the sale ended (`frontrow concert close`): no new entries and no admissions after it. */
    salesClosedAt: p.datetime().nullable(),
    /** No seat of a future date is AVAILABLE or HELD, as the admitter's last round found. */
    soldOut: p.boolean().default(false),
    /** At most this many admissions over any minute, spread evenly; null: capacity is the only limit. */
    admitPerMinute: p.integer().nullable(),
    /** The admitter's pacing: the earliest time of the next admission under `admitPerMinute`. */
    admitNextAt: p.datetime().nullable(),
    /** An admitted user who makes no call with their token within this many seconds is a no-show. */
    arrivalSeconds: p.integer().default(60),
    /** Entries before this wait in a pre-queue and get a random order at the opening; null: no pre-queue. */
    salesOpenAt: p.datetime().nullable(),
    /** When the admitter ran the opening shuffle (once); null before it. */
    openedAt: p.datetime().nullable(),
    /** The highest ticket the opening shuffle dealt: a token issued at or below it was given another place. */
    openedThrough: p.bigint('number').nullable(),
    /** The opening shuffle's seed (hex), for audit. */
    openSeed: p.string().length(64).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class Concert extends ConcertSchema.class {}
ConcertSchema.setClass(Concert);
