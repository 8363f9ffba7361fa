/** The guards' rules over a token row (no database): which row answers the claims, and who is admitted. */
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../errors.ts';
import type { QueueTicketStatus } from './crowd-rules.ts';
import { type TicketRow, type TicketState, assertAdmitted, assertTicketConcert, claimedTicketState } from './ticket.ts';

const now = new Date('2030-01-01T00:00:00.000Z');
const claims = { tokenId: '7', userId: 'u-1', concertId: '3', ticket: 12 };

function row(overrides: Partial<TicketRow> = {}): TicketRow {
  return {
    user_id: 'u-1',
    concert_id: '3',
    ticket: '12',
    status: 'ACTIVE',
    active_until: new Date(now.getTime() + 60_000),
    expired_reason: null,
    activated_at: now,
    claimed_at: now,
    pre_ticket: null,
    max_active: 10,
    active_count: 1,
    active_ttl_seconds: 600,
    admitted_through: '12',
    admit_rate_per_minute: null,
    admit_next_at: null,
    paused: false,
    admit_per_minute: null,
    arrival_seconds: 60,
    sales_open_at: null,
    opened_at: null,
    opened_through: null,
    sales_closed_at: null,
    sold_out: false,
    ...overrides,
  };
}

function reasonOf(fn: () => void): string {
  try {
    fn();
    return 'OK';
  } catch (error) {
    if (isDomainError(error)) return `${error.reason}: ${error.message}`;
    throw error;
  }
}

describe('claimedTicketState: the row answers only the claims it was signed for', () => {
  it('is the row’s state when user, concert and issued ticket all match', () => {
    const state = claimedTicketState(claims, row(), now);
    expect(state).toMatchObject({ tokenId: '7', userId: 'u-1', concertId: '3', ticket: 12, issuedTicket: 12, status: 'ACTIVE' });
  });

  it('is null with no row, or a row of another user, another concert or another ticket', () => {
    expect(claimedTicketState(claims, undefined, now)).toBeNull();
    expect(claimedTicketState(claims, row({ user_id: 'u-2' }), now)).toBeNull();
    expect(claimedTicketState(claims, row({ concert_id: '4' }), now)).toBeNull();
    expect(claimedTicketState(claims, row({ ticket: '13' }), now)).toBeNull();
  });

  it('after the opening shuffle, matches the ticket the token was issued with (pre_ticket), not its new place', () => {
    const shuffled = row({ ticket: '3', pre_ticket: '12', status: 'WAITING', active_until: null });
    expect(claimedTicketState(claims, shuffled, now)).toMatchObject({ ticket: 3, issuedTicket: 12, status: 'WAITING' });
    expect(claimedTicketState({ ...claims, ticket: 3 }, shuffled, now)).toBeNull();
  });

  it('reads a lapsed ACTIVE row as EXPIRED (exactly at activeUntil), an unlapsed one as ACTIVE', () => {
    expect(claimedTicketState(claims, row({ active_until: new Date(now.getTime() + 1) }), now)?.status).toBe('ACTIVE');
    expect(claimedTicketState(claims, row({ active_until: now }), now)?.status).toBe('EXPIRED');
  });
});

describe('assertAdmitted: only an ACTIVE token passes', () => {
  const state = (status: QueueTicketStatus) => ({ status }) as TicketState;
  it.each([
    ['ACTIVE', 'OK'],
    ['WAITING', 'QUEUE_NOT_ADMITTED: your token is still waiting in the queue'],
    ['PRE_QUEUE', 'QUEUE_NOT_ADMITTED: your token is still waiting in the queue'],
    ['COMPLETED', 'TOKEN_EXPIRED: your token is COMPLETED; enter the queue again'],
    ['EXPIRED', 'TOKEN_EXPIRED: your token is EXPIRED; enter the queue again'],
    ['CANCELLED', 'TOKEN_EXPIRED: your token is CANCELLED; enter the queue again'],
  ] as const)('%s → %s', (status, answer) => {
    expect(reasonOf(() => assertAdmitted(state(status)))).toBe(answer);
  });
});

describe('assertTicketConcert: a token belongs to one concert', () => {
  it('passes for its concert and is WRONG_CONCERT for another', () => {
    expect(reasonOf(() => assertTicketConcert({ concertId: '3' }, '3'))).toBe('OK');
    expect(reasonOf(() => assertTicketConcert({ concertId: '3' }, '30'))).toBe('WRONG_CONCERT: your token is for concert 3, not 30');
  });
});
