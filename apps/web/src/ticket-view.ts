/**
 * What the waiting room shows for a ticket: one function from a `QueueTicket` (as `queue.watch` sends it) to
 * a view state. Fields the API may add (a PRE_QUEUE status with the opening time, `paused`, `soldOut`, an
 * EXPIRED ticket's `reason`) are read defensively: absent or of another type, they are ignored, so a
 * server that does not send them yet gives today's states.
 */
import type { AppRouter } from '@frontrow/api-client';
import type { inferRouterOutputs } from '@trpc/server';

export type QueueTicket = inferRouterOutputs<AppRouter>['queue']['status'];

export type TicketView =
  | { kind: 'pre-queue'; opensAt: string | null }
  | { kind: 'waiting'; position: number; estimatedWaitSeconds: number | null; paused: boolean }
  | { kind: 'sold-out' }
  | { kind: 'admitted'; activeUntil: string | null }
  | { kind: 'completed' }
  | { kind: 'expired'; reason: string | null }
  | { kind: 'left' };

export function ticketView(ticket: QueueTicket): TicketView {
  const extra = ticket as Record<string, unknown>;
  const status: string = ticket.status;
  if (extra.soldOut === true) return { kind: 'sold-out' };
  switch (status) {
    case 'PRE_QUEUE':
      return { kind: 'pre-queue', opensAt: stringOrNull(extra.opensAt) };
    case 'WAITING':
      return {
        kind: 'waiting',
        position: ticket.position ?? 1,
        estimatedWaitSeconds: ticket.estimatedWaitSeconds,
        paused: extra.paused === true,
      };
    case 'ACTIVE':
      return { kind: 'admitted', activeUntil: ticket.activeUntil };
    case 'COMPLETED':
      return { kind: 'completed' };
    case 'CANCELLED':
      return { kind: 'left' };
    default:
      return { kind: 'expired', reason: stringOrNull(extra.reason) };
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** "about 4 minutes", "about 40 seconds", "less than a minute": an estimate as a person says it. */
export function describeWait(seconds: number | null): string {
  if (seconds === null) return 'working out your wait…';
  if (seconds < 45) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `about ${hours} h ${rest} min`;
}

/** mm:ss until `until`, never below zero. */
export function countdown(until: Date, now: Date): string {
  const left = Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
}
