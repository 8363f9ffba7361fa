/**
 * What the waiting room shows for a ticket: one function from a `QueueTicket` (API.md; as `queue.watch`
 * streams it and `queue.status` answers it) to a view state.
 */
import type { QueueTicket } from '@frontrow/api-client';
import { sentenceForReason } from './errors.ts';

export type { QueueTicket };

export type TicketView =
  | { kind: 'pre-queue'; salesOpenAt: string | null }
  | { kind: 'waiting'; position: number; estimatedWaitSeconds: number | null; paused: boolean }
  | { kind: 'sold-out' }
  | { kind: 'admitted'; activeUntil: string | null }
  | { kind: 'completed' }
  | { kind: 'expired'; expiredReason: QueueTicket['expiredReason'] }
  | { kind: 'left' };

export function ticketView(ticket: QueueTicket): TicketView {
  switch (ticket.status) {
    case 'PRE_QUEUE':
      return { kind: 'pre-queue', salesOpenAt: ticket.salesOpenAt };
    case 'WAITING':
      // soldOut and paused are only ever true while WAITING (API.md)
      if (ticket.soldOut) return { kind: 'sold-out' };
      return {
        kind: 'waiting',
        position: ticket.position ?? 1,
        estimatedWaitSeconds: ticket.estimatedWaitSeconds,
        paused: ticket.paused,
      };
    case 'ACTIVE':
      return { kind: 'admitted', activeUntil: ticket.activeUntil };
    case 'COMPLETED':
      return { kind: 'completed' };
    case 'CANCELLED':
      return { kind: 'left' };
    case 'EXPIRED':
      return { kind: 'expired', expiredReason: ticket.expiredReason };
  }
}

/** What the waiting room says for a view (not admitted: that is the seat map): a headline and a detail line. */
export function describeView(view: Exclude<TicketView, { kind: 'admitted' }>, now: Date): { headline: string; detail: string } {
  switch (view.kind) {
    case 'pre-queue':
      return {
        headline: 'You are in. The sale has not opened yet.',
        detail: view.salesOpenAt
          ? `It opens in ${countdown(new Date(view.salesOpenAt), now)}; then everyone here gets a place in a fair random order.`
          : 'It opens soon.',
      };
    case 'waiting':
      return {
        headline: 'Your place in line',
        detail: view.paused ? sentenceForReason('QUEUE_PAUSED') : `Estimated wait: ${describeWait(view.estimatedWaitSeconds)}`,
      };
    case 'sold-out':
      return {
        headline: 'Sold out',
        detail: `${sentenceForReason('SOLD_OUT')} If seats come back, the line moves again and you keep your place.`,
      };
    case 'completed':
      return { headline: 'You have bought your tickets.', detail: 'Your place in line is used up.' };
    case 'left':
      return { headline: 'You left the line.', detail: '' };
    case 'expired':
      return {
        headline: view.expiredReason === 'SALES_CLOSED' ? 'Sales have closed.' : 'Your place in line has ended.',
        detail: view.expiredReason ? sentenceForReason(view.expiredReason) : 'Your turn ran out before you bought seats.',
      };
  }
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

/** mm:ss until `until`, never below zero; h:mm:ss from an hour on. */
export function countdown(until: Date, now: Date): string {
  const left = Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 1000));
  const hours = Math.floor(left / 3600);
  const mmss = `${Math.floor((left % 3600) / 60)}:${String(left % 60).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${mmss.padStart(5, '0')}` : mmss;
}
