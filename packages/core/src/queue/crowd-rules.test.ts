/** The crowd rules as functions of (token row, concert row, now), each branch and its edge. */
import { describe, expect, it } from 'vitest';
import {
  type ConcertCrowdColumns,
  type TokenCrowdColumns,
  admissionHalt,
  effectiveStatus,
  entryRefusal,
  isNoShow,
  isOpeningDue,
  isPreQueue,
  isShuffledTicket,
} from './crowd-rules.ts';

const now = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(now.getTime() + ms);

const open: ConcertCrowdColumns = {
  paused: false,
  admit_per_minute: null,
  arrival_seconds: 60,
  sales_open_at: null,
  opened_at: null,
  opened_through: null,
  sales_closed_at: null,
  sold_out: false,
};
const token = (overrides: Partial<TokenCrowdColumns> = {}): TokenCrowdColumns => ({
  status: 'ACTIVE',
  active_until: at(60_000),
  expired_reason: null,
  activated_at: at(-1_000),
  claimed_at: null,
  pre_ticket: null,
  ...overrides,
});

describe('pre-queue and the opening', () => {
  it('a sale with an opening time is in its pre-queue until the shuffle ran', () => {
    expect(isPreQueue(open)).toBe(false);
    expect(isPreQueue({ sales_open_at: now, opened_at: null })).toBe(true);
    expect(isPreQueue({ sales_open_at: now, opened_at: now })).toBe(false);
  });

  it('the opening is due from its time on (exactly at it), only while the pre-queue has not opened', () => {
    expect(isOpeningDue({ sales_open_at: at(1), opened_at: null }, now)).toBe(false);
    expect(isOpeningDue({ sales_open_at: now, opened_at: null }, now)).toBe(true);
    expect(isOpeningDue({ sales_open_at: at(-1), opened_at: null }, now)).toBe(true);
    expect(isOpeningDue({ sales_open_at: at(-1), opened_at: now }, now)).toBe(false);
    expect(isOpeningDue({ sales_open_at: null, opened_at: null }, now)).toBe(false);
  });

  it('a ticket issued up to the highest the shuffle dealt no longer names its place', () => {
    expect(isShuffledTicket({ opened_through: null }, 1)).toBe(false);
    expect(isShuffledTicket({ opened_through: '10' }, 10)).toBe(true);
    expect(isShuffledTicket({ opened_through: 10 }, 11)).toBe(false);
  });
});

describe('isNoShow', () => {
  it('an ACTIVE token unclaimed from exactly the end of its arrival window on', () => {
    const admitted = token({ activated_at: at(-60_000) }); // its window (60 s) ends now
    expect(isNoShow(admitted, open, now)).toBe(true);
    expect(isNoShow(admitted, open, at(-1))).toBe(false);
    expect(isNoShow(token({ activated_at: at(-59_999) }), open, now)).toBe(false);
  });

  it('never a claimed token, one never admitted, or one not ACTIVE', () => {
    const late = { activated_at: at(-120_000) };
    expect(isNoShow(token({ ...late, claimed_at: at(-100_000) }), open, now)).toBe(false);
    expect(isNoShow(token({ ...late, activated_at: null }), open, now)).toBe(false);
    for (const status of ['WAITING', 'COMPLETED', 'EXPIRED', 'CANCELLED'] as const) {
      expect(isNoShow(token({ ...late, status }), open, now)).toBe(false);
    }
  });
});

describe('effectiveStatus', () => {
  it('an ACTIVE token past activeUntil is EXPIRED with no reason, before a no-show', () => {
    expect(effectiveStatus(token({ active_until: now, activated_at: at(-120_000) }), open, now)).toEqual({
      status: 'EXPIRED',
      expiredReason: null,
    });
    expect(effectiveStatus(token({ active_until: at(1) }), open, now)).toEqual({ status: 'ACTIVE', expiredReason: null });
  });

  it('an unclaimed ACTIVE token past its arrival window is EXPIRED/NO_SHOW', () => {
    expect(effectiveStatus(token({ activated_at: at(-60_000) }), open, now)).toEqual({ status: 'EXPIRED', expiredReason: 'NO_SHOW' });
  });

  it('a WAITING token of a closed sale is EXPIRED/SALES_CLOSED, even in a pre-queue; of a pre-queue, PRE_QUEUE', () => {
    const waiting = token({ status: 'WAITING', active_until: null, activated_at: null });
    const preQueue = { ...open, sales_open_at: at(1_000) };
    expect(effectiveStatus(waiting, { ...open, sales_closed_at: now }, now)).toEqual({ status: 'EXPIRED', expiredReason: 'SALES_CLOSED' });
    expect(effectiveStatus(waiting, { ...preQueue, sales_closed_at: now }, now)).toEqual({
      status: 'EXPIRED',
      expiredReason: 'SALES_CLOSED',
    });
    expect(effectiveStatus(waiting, preQueue, now)).toEqual({ status: 'PRE_QUEUE', expiredReason: null });
    expect(effectiveStatus(waiting, open, now)).toEqual({ status: 'WAITING', expiredReason: null });
  });

  it('only a WAITING token of a pre-queue is PRE_QUEUE: one that left before the opening stays CANCELLED', () => {
    const preQueue = { ...open, sales_open_at: at(1_000) };
    for (const status of ['CANCELLED', 'EXPIRED'] as const) {
      expect(effectiveStatus(token({ status, active_until: null, activated_at: null }), preQueue, now).status).toBe(status);
    }
  });

  it('a final token keeps its status; only an EXPIRED one keeps its reason', () => {
    const closed = { ...open, sales_closed_at: now };
    expect(effectiveStatus(token({ status: 'EXPIRED', expired_reason: 'NO_SHOW' }), closed, now)).toEqual({
      status: 'EXPIRED',
      expiredReason: 'NO_SHOW',
    });
    expect(effectiveStatus(token({ status: 'COMPLETED', expired_reason: 'NO_SHOW' }), closed, now)).toEqual({
      status: 'COMPLETED',
      expiredReason: null,
    });
    expect(effectiveStatus(token({ status: 'CANCELLED', active_until: null }), closed, now)).toEqual({
      status: 'CANCELLED',
      expiredReason: null,
    });
  });
});

describe('the gates', () => {
  it('an entry is refused once the sale closed (first) or sold out', () => {
    expect(entryRefusal(open)).toBeNull();
    expect(entryRefusal({ ...open, paused: true, sales_open_at: now })).toBeNull();
    expect(entryRefusal({ ...open, sold_out: true })).toBe('SOLD_OUT');
    expect(entryRefusal({ ...open, sold_out: true, sales_closed_at: now })).toBe('SALES_CLOSED');
  });

  it('admission halts for a closed sale, then a pre-queue, then a pause, then a sell-out', () => {
    const all = { ...open, sales_closed_at: now, sales_open_at: now, paused: true, sold_out: true };
    expect(admissionHalt(all)).toBe('SALES_CLOSED');
    expect(admissionHalt({ ...all, sales_closed_at: null })).toBe('PRE_QUEUE');
    expect(admissionHalt({ ...all, sales_closed_at: null, opened_at: now })).toBe('PAUSED');
    expect(admissionHalt({ ...all, sales_closed_at: null, opened_at: now, paused: false })).toBe('SOLD_OUT');
    expect(admissionHalt(open)).toBeNull();
  });
});
