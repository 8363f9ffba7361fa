import { describe, expect, it } from 'vitest';
import { admitRatePerMinute, nextAdmittedThrough, paceAdmissions, shuffledPlaces, slotsToAdmit } from './admission.ts';
import { estimateWaitSeconds, positionOf } from './position.ts';

describe('admission rules', () => {
  it('admits only into free places, and none when the active set is full or over a lowered capacity', () => {
    expect(slotsToAdmit(10, 0)).toBe(10);
    expect(slotsToAdmit(10, 7)).toBe(3);
    expect(slotsToAdmit(10, 10)).toBe(0);
    expect(slotsToAdmit(5, 8)).toBe(0);
  });

  it('measures the rate since the first round of the window, and has none before a second round admits anybody', () => {
    expect(admitRatePerMinute(30, 3)).toBe(600);
    expect(admitRatePerMinute(0, 3)).toBeNull();
    expect(admitRatePerMinute(5, 0)).toBeNull();
  });

  it('never lowers admittedThrough, whatever tickets a round admits', () => {
    expect(nextAdmittedThrough(10, [])).toBe(10);
    expect(nextAdmittedThrough(10, [11, 12, 14])).toBe(14);
    expect(nextAdmittedThrough(10, [3])).toBe(10);
  });
});

describe('the opening shuffle', () => {
  it('is a permutation of the places, recomputable from the logged seed (these orders are what a seed gave, and must keep giving)', () => {
    expect(shuffledPlaces(0, Buffer.alloc(32, 7))).toEqual([]);
    expect(shuffledPlaces(1, Buffer.alloc(32, 7))).toEqual([0]);
    expect(shuffledPlaces(10, Buffer.alloc(32, 7))).toEqual([8, 4, 6, 2, 7, 3, 9, 0, 5, 1]);
    expect(shuffledPlaces(10, Buffer.alloc(32, 8))).toEqual([2, 9, 7, 5, 0, 3, 4, 8, 6, 1]);
    // more than one HMAC block of draws (8 per block)
    const forty = shuffledPlaces(40, Buffer.alloc(32, 7));
    expect(forty).toEqual([
      17, 11, 10, 3, 5, 30, 23, 12, 27, 33, 19, 20, 26, 6, 14, 7, 39, 0, 36, 1, 35, 24, 21, 25, 28, 34, 37, 16, 8, 4, 29, 2, 22, 18, 15, 9,
      13, 32, 38, 31,
    ]);
    expect([...forty].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});

describe('pacing under an admission cap (paceAdmissions)', () => {
  const now = new Date('2030-01-01T00:00:00.000Z');
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('the first admission goes at once, the next one interval (60 s / N) later', () => {
    const pace = paceAdmissions({ admitPerMinute: 30, nextAt: null, now, admittedInWindow: 0 });
    expect(pace.allowed).toBe(1);
    expect(pace.nextAtAfter(1)).toEqual(at(2_000));
    expect(pace.nextAtAfter(0)).toEqual(now);
  });

  it('a round late by up to the tolerance catches up on the schedule; later than that, it starts afresh with no burst', () => {
    expect(paceAdmissions({ admitPerMinute: 120, nextAt: at(-1_000), now, admittedInWindow: 0 }).allowed).toBe(3);
    expect(paceAdmissions({ admitPerMinute: 120, nextAt: at(-1_000), now, admittedInWindow: 0 }).nextAtAfter(3)).toEqual(at(500));
    expect(paceAdmissions({ admitPerMinute: 120, nextAt: at(-1_001), now, admittedInWindow: 0 }).allowed).toBe(1);
    expect(paceAdmissions({ admitPerMinute: 120, nextAt: at(-1_001), now, admittedInWindow: 0 }).nextAtAfter(1)).toEqual(at(500));
    expect(paceAdmissions({ admitPerMinute: 30, nextAt: now, now, admittedInWindow: 0 }).allowed).toBe(1);
  });

  it('a round before the next admission is due admits nobody', () => {
    expect(paceAdmissions({ admitPerMinute: 30, nextAt: at(1), now, admittedInWindow: 0 }).allowed).toBe(0);
  });

  it('never more than N in the trailing minute, and never a negative number', () => {
    expect(paceAdmissions({ admitPerMinute: 120, nextAt: at(-1_000), now, admittedInWindow: 118 }).allowed).toBe(2);
    expect(paceAdmissions({ admitPerMinute: 30, nextAt: null, now, admittedInWindow: 30 }).allowed).toBe(0);
    expect(paceAdmissions({ admitPerMinute: 30, nextAt: null, now, admittedInWindow: 31 }).allowed).toBe(0);
  });
});

describe('position', () => {
  it('is the distance to the last admitted ticket, 1 for the next in line', () => {
    expect(positionOf(11, 10)).toBe(1);
    expect(positionOf(150, 100)).toBe(50);
  });

  it('never increases as admittedThrough grows, and never drops below 1', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (const admittedThrough of [0, 3, 3, 40, 99, 120]) {
      const position = positionOf(100, admittedThrough);
      expect(position).toBeLessThanOrEqual(previous);
      expect(position).toBeGreaterThanOrEqual(1);
      previous = position;
    }
  });
});

describe('estimated wait', () => {
  const full = { maxActive: 100, activeCount: 100, activeTtlSeconds: 600 };

  it('is the next round for a place within the free ACTIVE places, whatever the rate', () => {
    expect(estimateWaitSeconds(1, { ...full, activeCount: 99, admitRatePerMinute: 1 })).toBe(1);
    expect(estimateWaitSeconds(30, { ...full, activeCount: 70, admitRatePerMinute: null })).toBe(1);
  });

  it('is the places behind the free ones over the measured admission rate', () => {
    expect(estimateWaitSeconds(50, { ...full, admitRatePerMinute: 600 })).toBe(5);
    expect(estimateWaitSeconds(50, { ...full, activeCount: 90, admitRatePerMinute: 600 })).toBe(4);
  });

  it('falls back to position / maxActive × activeTtl without a measured rate', () => {
    expect(estimateWaitSeconds(50, { ...full, admitRatePerMinute: null })).toBe(300);
    expect(estimateWaitSeconds(250, { ...full, admitRatePerMinute: 0 })).toBe(1500);
  });

  it('under an admission cap of N a minute, is never less than position × 60 / N', () => {
    const free = { maxActive: 100, activeCount: 0, activeTtlSeconds: 600, admitRatePerMinute: null };
    expect(estimateWaitSeconds(10, { ...free, admitPerMinute: 30 })).toBe(20);
    expect(estimateWaitSeconds(7, { ...free, admitPerMinute: 30 })).toBe(14);
    expect(estimateWaitSeconds(10, { ...free, admitPerMinute: null })).toBe(1);
    expect(estimateWaitSeconds(50, { ...full, admitRatePerMinute: 600, admitPerMinute: 6_000 })).toBe(5);
  });

  it('is never below the next round, and never negative, even over a lowered capacity', () => {
    expect(estimateWaitSeconds(1, { ...full, admitRatePerMinute: 1e9 })).toBe(1);
    expect(estimateWaitSeconds(1, { maxActive: 5, activeCount: 8, activeTtlSeconds: 600, admitRatePerMinute: null })).toBe(120);
  });
});
