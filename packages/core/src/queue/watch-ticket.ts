import { setTimeout as sleep } from 'node:timers/promises';
import type { PreparedSource } from '@frontrow/db/pg';
import type { Clock } from '../clock.ts';
import { isDomainError } from '../errors.ts';
import type { AdmissionMemory } from './admission-memory.ts';
import { FINAL_STATUSES, type QueueTicket, type TicketState, readTicketState, toQueueTicket } from './ticket.ts';
import type { TokenClaims } from './token-signer.ts';

export type WatchTicketInput = {
  token: string;
  /** The state the guard read on connect: sent first, without another query. */
  ticket: TicketState;
  /** Stops the watch (the client went away, or a newer watch of the token replaced it). */
  signal?: AbortSignal | undefined;
  /** Without the in-memory admission state only: how often the state is read again. */
  everyMs?: number;
};

/** The ORM's EntityManager in the API; a plain `pg` pool in the streams process (it reads by prepared statements only). */
export type WatchDeps = { em: PreparedSource; clock: Clock; admissions?: AdmissionMemory | undefined };

/**
 * The ticket on connect, then again every time it changes, ending after a final status (`queue.watch`).
 *
 * With the process's in-memory admission state (the API's case), a stream polls nothing: it looks again
 * when that state says its concert changed (an admission round, a leave, a payment, a setting: the one
 * reader of the process fans out to every stream of the concert), and when its ACTIVE token lapses. A
 * WAITING token is answered from memory (a stale state waits for the one shared read, as a poll does);
 * only a token the memory cannot answer (just admitted, ACTIVE, ended) reads its row, once per change. Without it (tools, tests), each watcher re-reads its row every
 * `everyMs`.
 */
export async function* watchTicket(deps: WatchDeps, input: WatchTicketInput): AsyncGenerator<QueueTicket> {
  const claims: TokenClaims = {
    tokenId: input.ticket.tokenId,
    userId: input.ticket.userId,
    concertId: input.ticket.concertId,
    ticket: input.ticket.issuedTicket,
  };
  let sent = toQueueTicket(input.token, input.ticket);
  yield sent;
  const admissions = deps.admissions;
  const changed = new Pulse();
  const unsubscribe = [
    admissions?.subscribe(claims.concertId, () => changed.fire('concert')),
    admissions?.subscribeToken(claims.tokenId, () => changed.fire('token')),
  ];
  /** The memory could not give a fresh state in time (BUSY): look again after this long, with no read of our own. */
  let retryInMs: number | undefined;
  try {
    while (!FINAL_STATUSES.has(sent.status)) {
      const reasons = admissions
        ? await changed.wait(input.signal, retryInMs ?? lapseInMs(sent, deps.clock.now()))
        : (await pause(input.everyMs ?? 500, input.signal))
          ? new Set(['tick'])
          : null;
      if (!reasons) return;
      // the concert's changes move a WAITING token; an admitted one changes only when a notification names
      // it (a payment, a leave, a longer activeUntil) or when it lapses (the wait's timeout: no reason)
      if (retryInMs === undefined && sent.status === 'ACTIVE' && reasons.size === 1 && reasons.has('concert')) continue;
      retryInMs = undefined;
      let fromMemory: TicketState | null = null;
      if (admissions) {
        try {
          fromMemory = await admissions.freshWaitingState(claims, deps.clock);
        } catch (error) {
          // the reader is behind or the database away: every stream of the concert waits for the next
          // read like the polls do, never one read each
          if (!isDomainError(error, 'BUSY')) throw error;
          retryInMs = BUSY_RETRY_MS;
          continue;
        }
      }
      const state = fromMemory ?? (await readTicketState(deps.em, claims, deps.clock.now()));
      if (!state) return;
      const next = toQueueTicket(input.token, state);
      if (sameTicket(next, sent)) continue;
      sent = next;
      yield sent;
    }
  } finally {
    for (const stop of unsubscribe) stop?.();
  }
}

/** How soon a stream whose state could not be had fresh (BUSY) looks again, unless its concert changes first. */
const BUSY_RETRY_MS = 1_000;

/** An ACTIVE ticket reads EXPIRED once past `activeUntil`, with nobody notifying: look again then. */
function lapseInMs(ticket: QueueTicket, now: Date): number | undefined {
  if (ticket.status !== 'ACTIVE' || ticket.activeUntil === null) return undefined;
  return Math.max(0, new Date(ticket.activeUntil).getTime() - now.getTime()) + 1;
}

/** Wake-ups that are not lost when they come while nobody waits, with what they were for. */
class Pulse {
  #reasons = new Set<string>();
  #wake: (() => void) | undefined;

  fire(reason: string): void {
    this.#reasons.add(reason);
    this.#wake?.();
  }

  /** The reasons fired since the last wait (none after `timeoutMs`), or null when `signal` aborted. */
  async wait(signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Set<string> | null> {
    if (signal?.aborted) return null;
    if (this.#reasons.size === 0) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        onAbort = resolve;
        signal?.addEventListener('abort', onAbort, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(resolve, Math.min(timeoutMs, 2 ** 31 - 1));
      });
      this.#wake = undefined;
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return null;
    }
    const reasons = this.#reasons;
    this.#reasons = new Set();
    return reasons;
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
