import type { EntityManager } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { DomainError } from '../errors.ts';
import { inTransaction } from '../unit-of-work.ts';
import { concertIdSchema } from './concert-id.ts';
import { nudgeAdmission } from './nudge-admission.ts';

export type QueuePauseState = { concertId: string; paused: boolean };
export type SalesClosed = {
  concertId: string;
  /** When the sale closed (the first close: closing again changes nothing). */
  salesClosedAt: string;
  /** WAITING tokens this call ended (EXPIRED, reason SALES_CLOSED). */
  expired: number;
};

/**
 * The operator's hand on the valve (`frontrow queue pause|resume`, `frontrow concert close`), for any
 * console to call. Each takes the concert's admission lock exclusively, as an admission round does, so
 * once it returns no round that read the old setting is still admitting, and no entry is half-drawn.
 */
async function underAdmissionLock<T>(
  deps: Pick<Deps, 'em'>,
  rawConcertId: string,
  work: (concertId: string, em: EntityManager) => Promise<T>,
) {
  const concertId = concertIdSchema.parse(rawConcertId);
  return await inTransaction(deps.em, async (em) => {
    await em.execute('select pg_advisory_xact_lock(?::bigint)', [concertId]);
    const found = await em.execute<{ id: string }[]>('select id from concert where id = ? for update', [concertId]);
    if (found.length === 0) throw new DomainError('CONCERT_NOT_FOUND', `concert ${concertId} does not exist`);
    return await work(concertId, em);
  });
}

/** Admission stops: nobody is admitted until `resumeQueue`; waiting users read `paused: true` and no estimate. */
export async function pauseQueue(deps: Pick<Deps, 'em'>, raw: { concertId: string }): Promise<QueuePauseState> {
  return await setPaused(deps, raw.concertId, true);
}

/** Admission resumes, at once (an admission round is asked for). */
export async function resumeQueue(deps: Pick<Deps, 'em' | 'jobs'>, raw: { concertId: string }): Promise<QueuePauseState> {
  const state = await setPaused(deps, raw.concertId, false);
  await nudgeAdmission(deps, state.concertId);
  return state;
}

async function setPaused(deps: Pick<Deps, 'em'>, rawConcertId: string, paused: boolean): Promise<QueuePauseState> {
  return await underAdmissionLock(deps, rawConcertId, async (concertId, em) => {
    await em.execute('update concert set paused = ? where id = ?', [paused, concertId]);
    return { concertId, paused };
  });
}

/**
 * The sale ends: new entries are refused with SALES_CLOSED, nobody more is admitted, and every WAITING
 * token becomes EXPIRED with reason SALES_CLOSED, in one transaction. ACTIVE users keep their time to
 * hold and pay. Idempotent: closing again keeps the first closing time.
 */
export async function closeSales(deps: Pick<Deps, 'em' | 'clock'>, raw: { concertId: string }): Promise<SalesClosed> {
  return await underAdmissionLock(deps, raw.concertId, async (concertId, em) => {
    const [closed] = await em.execute<{ sales_closed_at: Date }[]>(
      'update concert set sales_closed_at = coalesce(sales_closed_at, ?) where id = ? returning sales_closed_at',
      [deps.clock.now(), concertId],
    );
    const expired = await em.execute<{ id: string }[]>(
      `update queue_token set status = 'EXPIRED', expired_reason = 'SALES_CLOSED', version = version + 1
        where concert_id = ? and status = 'WAITING' returning id`,
      [concertId],
    );
    return { concertId, salesClosedAt: new Date(closed?.sales_closed_at ?? deps.clock.now()).toISOString(), expired: expired.length };
  });
}
