import { setTimeout as sleep } from 'node:timers/promises';
import type { Deps } from '../deps.ts';
import { type QueueTicket, type TicketState, readTicketState, toQueueTicket } from './ticket.ts';

export type WatchTicketInput = {
  token: string;
  /** The state the guard read on connect: sent first, without another query. */
  ticket: TicketState;
  /** Stops the watch (the client went away). */
  signal?: AbortSignal | undefined;
  /** How often the state is read again. */
  everyMs?: number;
};

export const FINAL_STATUSES = new Set<QueueTicket['status']>(['COMPLETED', 'EXPIRED', 'CANCELLED']);

/**
 * The ticket on connect, then again every time it changes, ending after a final status (`queue.watch`).
 * Each watcher re-reads the one-row state (the same O(1) primary-key read as `queue.status`) every
 * `everyMs`, so what it sees never depends on which process admitted, expired or cancelled the token.
 */
export async function* watchTicket(deps: Pick<Deps, 'em' | 'clock'>, input: WatchTicketInput): AsyncGenerator<QueueTicket> {
  const claims = {
    tokenId: input.ticket.tokenId,
    userId: input.ticket.userId,
    concertId: input.ticket.concertId,
    ticket: input.ticket.issuedTicket,
  };
  let sent = toQueueTicket(input.token, input.ticket);
  yield sent;
  while (!FINAL_STATUSES.has(sent.status)) {
    if (!(await pause(input.everyMs ?? 500, input.signal))) return;
    const state = await readTicketState(deps.em, claims, deps.clock.now());
    if (!state) return;
    const next = toQueueTicket(input.token, state);
    if (sameTicket(next, sent)) continue;
    sent = next;
    yield sent;
  }
}

/** False when the watch was stopped instead. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
}

function sameTicket(a: QueueTicket, b: QueueTicket): boolean {
  return (
    a.status === b.status &&
    a.salesOpenAt === b.salesOpenAt &&
    a.position === b.position &&
    a.estimatedWaitSeconds === b.estimatedWaitSeconds &&
    a.activeUntil === b.activeUntil &&
    a.paused === b.paused &&
    a.soldOut === b.soldOut &&
    a.expiredReason === b.expiredReason
  );
}
