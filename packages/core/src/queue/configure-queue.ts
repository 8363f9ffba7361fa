import { z } from 'zod';
import { Concert } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { isoDateTime } from '../dates.ts';
import { concertIdSchema } from './concert-id.ts';
import { nudgeAdmission } from './nudge-admission.ts';

export const configureQueueInput = z.object({
  concertId: concertIdSchema,
  maxActive: z.number().int().min(1).max(1_000_000).optional(),
  activeTtlSeconds: z.number().int().min(1).max(86_400).optional(),
  /** At most this many admissions over any minute, spread evenly; 0 removes the cap. */
  admitPerMinute: z.number().int().min(0).max(1_000_000).optional(),
  /** Seconds an admitted user has to show up; applies to admissions not yet claimed, from now on. */
  arrivalSeconds: z.number().int().min(1).max(86_400).optional(),
  /** When the sale opens: entries before it wait in a pre-queue and get a random order then; null removes it. Only before the opening. */
  salesOpenAt: isoDateTime.nullable().optional(),
});
export type ConfigureQueueInput = z.input<typeof configureQueueInput>;
export type QueueConfig = {
  concertId: string;
  maxActive: number;
  activeTtlSeconds: number;
  admitPerMinute: number | null;
  arrivalSeconds: number;
  salesOpenAt: string | null;
};

/**
 * Sets a concert's waiting-room capacity and admission lifetime; with neither given, reads them. A new
 * `activeTtlSeconds` applies to admissions from now on: an admitted user keeps the `activeUntil` they were
 * given. A raised capacity is filled by the next admission round (asked for at once); a lowered one admits
 * nobody until the active set has shrunk below it.
 */
export async function configureQueue(deps: Deps, raw: ConfigureQueueInput): Promise<QueueConfig> {
  const input = configureQueueInput.parse(raw);
  const config = await inTransaction(deps.em, async (em) => {
    const concert = await em.findOne(Concert, input.concertId);
    if (!concert) throw new DomainError('CONCERT_NOT_FOUND', `concert ${input.concertId} does not exist`);
    if (input.maxActive !== undefined) concert.maxActive = input.maxActive;
    if (input.activeTtlSeconds !== undefined) concert.activeTtlSeconds = input.activeTtlSeconds;
    if (input.arrivalSeconds !== undefined) concert.arrivalSeconds = input.arrivalSeconds;
    if (input.salesOpenAt !== undefined) {
      if (concert.openedAt) throw new DomainError('VALIDATION', `the sale of concert ${concert.id} has opened already`);
      concert.salesOpenAt = input.salesOpenAt === null ? null : new Date(input.salesOpenAt);
    }
    if (input.admitPerMinute !== undefined) {
      concert.admitPerMinute = input.admitPerMinute === 0 ? null : input.admitPerMinute;
      // a new cap paces from now on: the old schedule's debt or credit does not carry over
      concert.admitNextAt = null;
    }
    return {
      concertId: concert.id,
      maxActive: concert.maxActive,
      activeTtlSeconds: concert.activeTtlSeconds,
      admitPerMinute: concert.admitPerMinute ?? null,
      arrivalSeconds: concert.arrivalSeconds,
      salesOpenAt: concert.salesOpenAt ? concert.salesOpenAt.toISOString() : null,
    };
  });
  if (input.maxActive !== undefined || input.admitPerMinute !== undefined) await nudgeAdmission(deps, input.concertId);
  return config;
}
