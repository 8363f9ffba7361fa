import { Reservation } from '@frontrow/db';
import type { Deps } from '../deps.ts';
import { expireHold } from './expire-hold.ts';
import { lapsedHoldWhere } from './hold-rules.ts';

export type SweepResult = { found: number; expired: number };

/**
 * Expires up to `limit` HELD reservations past their expiry, oldest first, each in a unit of work of its
 * own: the safety net for expiry jobs that were lost. A full batch (`found === limit`) means there may be more.
 */
export async function sweepHolds(deps: Pick<Deps, 'em' | 'clock'>, options: { limit: number }): Promise<SweepResult> {
  const lapsed = await deps.em
    .fork()
    .find(Reservation, lapsedHoldWhere(deps.clock.now()), { fields: ['id'], orderBy: { expiresAt: 'asc' }, limit: options.limit });
  let expired = 0;
  for (const { id } of lapsed) {
    if ((await expireHold(deps, id)).outcome === 'expired') expired += 1;
  }
  return { found: lapsed.length, expired };
}
