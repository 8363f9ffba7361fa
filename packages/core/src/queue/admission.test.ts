import { describe, expect, it } from 'vitest';
import { admitRatePerMinute, nextAdmittedThrough, slotsToAdmit } from './admission.ts';
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

  it('is never below the next round, and never negative, even over a lowered capacity', () => {
    expect(estimateWaitSeconds(1, { ...full, admitRatePerMinute: 1e9 })).toBe(1);
    expect(estimateWaitSeconds(1, { maxActive: 5, activeCount: 8, activeTtlSeconds: 600, admitRatePerMinute: null })).toBe(120);
  });
});
