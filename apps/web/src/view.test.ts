/** The waiting room's two tables: a ticket → its view state, and an error reason → its sentence. */
import { describe, expect, it } from 'vitest';
import { TRPCClientError } from '@frontrow/api-client';
import { ERROR_REASONS } from '@frontrow/core';
import { GENERIC_SENTENCE, OFFLINE_SENTENCE, REASON_SENTENCES, sentenceFor, sentenceForReason } from './errors.ts';
import { type QueueTicket, countdown, describeView, describeWait, ticketView } from './ticket-view.ts';

const ticket = (over: Partial<QueueTicket> = {}): QueueTicket => ({
  token: 't',
  userId: 'u',
  concertId: '1',
  status: 'WAITING',
  position: 12,
  estimatedWaitSeconds: 240,
  activeUntil: null,
  paused: false,
  soldOut: false,
  expiredReason: null,
  salesOpenAt: null,
  ...over,
});

const said = (t: QueueTicket, now = new Date('2030-01-01T09:58:55Z')) => {
  const view = ticketView(t);
  if (view.kind === 'admitted') throw new Error('admitted has no sentence');
  return describeView(view, now);
};

describe('ticketView', () => {
  it('waiting with its place and estimate, admitted, completed, left, a lapsed turn', () => {
    expect(ticketView(ticket())).toEqual({ kind: 'waiting', position: 12, estimatedWaitSeconds: 240, paused: false });
    expect(ticketView(ticket({ status: 'ACTIVE', position: null, activeUntil: '2030-01-01T00:10:00Z' }))).toEqual({
      kind: 'admitted',
      activeUntil: '2030-01-01T00:10:00Z',
    });
    expect(ticketView(ticket({ status: 'COMPLETED' })).kind).toBe('completed');
    expect(ticketView(ticket({ status: 'CANCELLED' })).kind).toBe('left');
    expect(ticketView(ticket({ status: 'EXPIRED' }))).toEqual({ kind: 'expired', expiredReason: null });
    expect(said(ticket())).toEqual({ headline: 'Your place in line', detail: 'Estimated wait: about 4 minutes' });
    expect(said(ticket({ status: 'EXPIRED' })).detail).toBe('Your turn ran out before you bought seats.');
  });

  it("the crowd states from the API's fields: PRE_QUEUE counts down to salesOpenAt, paused, soldOut, expiredReason", () => {
    const preQueue = ticket({ status: 'PRE_QUEUE', position: null, estimatedWaitSeconds: null, salesOpenAt: '2030-01-01T10:00:00Z' });
    expect(ticketView(preQueue)).toEqual({ kind: 'pre-queue', salesOpenAt: '2030-01-01T10:00:00Z' });
    expect(said(preQueue)).toEqual({
      headline: 'You are in. The sale has not opened yet.',
      detail: 'It opens in 1:05; then everyone here gets a place in a fair random order.',
    });
    expect(said(preQueue, new Date('2030-01-01T07:59:59Z')).detail).toMatch(/^It opens in 2:00:01;/);

    const paused = ticket({ paused: true, estimatedWaitSeconds: null });
    expect(ticketView(paused)).toMatchObject({ kind: 'waiting', paused: true });
    expect(said(paused).detail).toBe('The line is paused for a moment. You keep your place.');

    const soldOut = ticket({ soldOut: true, estimatedWaitSeconds: null });
    expect(ticketView(soldOut).kind).toBe('sold-out');
    expect(said(soldOut).detail).toMatch(/^This concert is sold out\. If seats come back/);

    const closed = ticket({ status: 'EXPIRED', position: null, expiredReason: 'SALES_CLOSED' });
    expect(ticketView(closed)).toEqual({ kind: 'expired', expiredReason: 'SALES_CLOSED' });
    expect(said(closed)).toEqual({ headline: 'Sales have closed.', detail: 'Sales for this concert have closed.' });

    const noShow = ticket({ status: 'EXPIRED', position: null, expiredReason: 'NO_SHOW' });
    expect(ticketView(noShow)).toEqual({ kind: 'expired', expiredReason: 'NO_SHOW' });
    expect(said(noShow).detail).toBe(
      'You were not here when your turn came, so your place went to the next person. You can join the line again.',
    );
  });

  it('says waits and countdowns as a person reads them', () => {
    expect(describeWait(null)).toBe('working out your wait…');
    expect(describeWait(20)).toBe('less than a minute');
    expect(describeWait(240)).toBe('about 4 minutes');
    expect(describeWait(3 * 3600 + 600)).toBe('about 3 h 10 min');
    expect(countdown(new Date(65_000), new Date(0))).toBe('1:05');
    expect(countdown(new Date(0), new Date(5_000))).toBe('0:00');
    expect(countdown(new Date(3_725_000), new Date(0))).toBe('1:02:05');
  });
});

describe('error sentences', () => {
  it('every reason of the API has a sentence of its own, never the generic one, never a code', () => {
    for (const reason of ERROR_REASONS) {
      expect(REASON_SENTENCES[reason], reason).toBeDefined();
      expect(sentenceForReason(reason)).not.toBe(GENERIC_SENTENCE);
      expect(sentenceForReason(reason)).not.toMatch(/[A-Z]{2,}_[A-Z]/);
    }
    for (const coming of ['SALES_CLOSED', 'SOLD_OUT', 'NO_SHOW', 'PAYLOAD_TOO_LARGE'])
      expect(sentenceForReason(coming)).not.toBe(GENERIC_SENTENCE);
  });

  it("an unknown reason gets the generic sentence; a call that never reached the API, the network's", () => {
    expect(sentenceForReason('SOMETHING_NEW')).toBe(GENERIC_SENTENCE);
    expect(
      sentenceFor(TRPCClientError.from({ error: { message: 'x', code: -32009, data: { reason: 'SEAT_UNAVAILABLE' } } } as never)),
    ).toBe(REASON_SENTENCES.SEAT_UNAVAILABLE);
    expect(sentenceFor(TRPCClientError.from(new TypeError('Failed to fetch')))).toBe(OFFLINE_SENTENCE);
    expect(sentenceFor(new Error('bug'))).toBe(GENERIC_SENTENCE);
  });
});
