import { z } from 'zod';
import { concertIdSchema, reservationIdSchema } from '@frontrow/core';

/** The jobs of FrontRow: what each is called in pg-boss, and what its payload holds. */
export const JOB = {
  holdExpire: 'hold.expire',
  holdsSweep: 'holds.sweep',
  queueAdmit: 'queue.admit',
  queueTokensPurge: 'queue.tokens.purge',
} as const;

export type JobName = (typeof JOB)[keyof typeof JOB];

/** `hold.expire`: the reservation whose hold lapses. */
export const holdExpirePayload = z.object({ reservationId: reservationIdSchema });
export type HoldExpireJob = z.infer<typeof holdExpirePayload>;

/** `queue.admit`: the concert whose admission round is asked for. */
export const queueAdmitPayload = z.object({ concertId: concertIdSchema });
export type QueueAdmitJob = z.infer<typeof queueAdmitPayload>;
