/** The waiting room's two tables: a ticket → its view state, and an error reason → its sentence. */
import { describe, expect, it } from 'vitest';
import { TRPCClientError } from '@frontrow/api-client';
import { ERROR_REASONS } from '@frontrow/core';
import { GENERIC_SENTENCE, OFFLINE_SENTENCE, REASON_SENTENCES, sentenceFor, sentenceForReason } from './errors.ts';
import { type QueueTicket, countdown, describeWait, ticketView } from './ticket-view.ts';

const ticket = (over: Partial<QueueTicket> & Record<string, unknown> = {}): QueueTicket =>
  ({
    token: 't',
    userId: 'u',
    concertId: '1',
    status: 'WAITING',
    position: 12,
    estimatedWaitSeconds: 240,
    activeUntil: null,
    ...over,
  }) as QueueTicket;

describe('ticketView', () => {
  it("today's statuses: waiting with its place and estimate, admitted, completed, left, expired", () => {
    expect(ticketView(ticket())).toEqual({ kind: 'waiting', position: 12, estimatedWaitSeconds: 240, paused: false });
    expect(ticketView(ticket({ status: 'ACTIVE', position: null, activeUntil: '2030-01-01T00:10:00Z' }))).toEqual({
      kind: 'admitted',
      activeUntil: '2030-01-01T00:10:00Z',
    });
    expect(ticketView(ticket({ status: 'COMPLETED' })).kind).toBe('completed');
    expect(ticketView(ticket({ status: 'CANCELLED' })).kind).toBe('left');
    expect(ticketView(ticket({ status: 'EXPIRED' }))).toEqual({ kind: 'expired', reason: null });
  });

  it('the crowd states when the API sends them: PRE_QUEUE with its opening, paused, sold out, an expiry reason', () => {
    expect(ticketView(ticket({ status: 'PRE_QUEUE' as never, opensAt: '2030-01-01T10:00:00Z' }))).toEqual({
      kind: 'pre-queue',
      opensAt: '2030-01-01T10:00:00Z',
    });
    expect(ticketView(ticket({ paused: true }))).toMatchObject({ kind: 'waiting', paused: true });
    expect(ticketView(ticket({ soldOut: true })).kind).toBe('sold-out');
    expect(ticketView(ticket({ status: 'EXPIRED', reason: 'NO_SHOW' }))).toEqual({ kind: 'expired', reason: 'NO_SHOW' });
  });

  it('optional fields of another type are absent', () => {
    expect(ticketView(ticket({ paused: 'yes' as never, soldOut: 1 as never }))).toMatchObject({ kind: 'waiting', paused: false });
    expect(ticketView(ticket({ status: 'EXPIRED', reason: 42 }))).toEqual({ kind: 'expired', reason: null });
    expect(ticketView(ticket({ status: 'PRE_QUEUE' as never, opensAt: 7 }))).toEqual({ kind: 'pre-queue', opensAt: null });
  });

  it('says waits and countdowns as a person reads them', () => {
    expect(describeWait(null)).toBe('working out your wait…');
    expect(describeWait(20)).toBe('less than a minute');
    expect(describeWait(240)).toBe('about 4 minutes');
    expect(describeWait(3 * 3600 + 600)).toBe('about 3 h 10 min');
    expect(countdown(new Date(65_000), new Date(0))).toBe('1:05');
    expect(countdown(new Date(0), new Date(5_000))).toBe('0:00');
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
