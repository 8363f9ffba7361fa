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

  it('measures the rate over the window, and has none when nobody was admitted', () => {
    expect(admitRatePerMinute(30, 3)).toBe(10);
    expect(admitRatePerMinute(0, 3)).toBeNull();
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
  it('comes from the measured admission rate when there is one', () => {
    expect(estimateWaitSeconds(50, 10, 100, 600)).toBe(300);
  });

  it('falls back to position / maxActive × activeTtl without a measured rate', () => {
    expect(estimateWaitSeconds(50, null, 100, 600)).toBe(300);
    expect(estimateWaitSeconds(250, 0, 100, 600)).toBe(1500);
  });
});
