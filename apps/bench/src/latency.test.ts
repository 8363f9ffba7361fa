import { describe, expect, it } from 'vitest';
import { admissionLatencies, expiryLags, waitEstimateAccuracy } from './latency.ts';

describe('bench lag figures', () => {
  it('the first maxActive admissions fill free slots; each later one is timed from the slot it fills', () => {
    const admissions = [
      { ticket: 1, enteredAt: 0, activatedAt: 10 },
      { ticket: 2, enteredAt: 0, activatedAt: 10 },
      { ticket: 3, enteredAt: 0, activatedAt: 1_150 },
      { ticket: 4, enteredAt: 0, activatedAt: 2_020 },
    ];
    // two slots free at the start; slots freed at 1000 and 2000
    expect(admissionLatencies(admissions, [2_000, 1_000], 2)).toEqual([150, 20]);
  });

  it('a slot freed while nobody waited is timed from the moment the next user entered', () => {
    const admissions = [
      { ticket: 1, enteredAt: 0, activatedAt: 5 },
      { ticket: 2, enteredAt: 3_000, activatedAt: 3_040 },
    ];
    expect(admissionLatencies(admissions, [1_000], 1)).toEqual([40]);
  });

  it('freed slots nobody took yet are not counted', () => {
    expect(admissionLatencies([{ ticket: 1, enteredAt: 0, activatedAt: 5 }], [100, 200], 1)).toEqual([]);
  });

  it('hold-expiry lag runs from expiresAt to the sample that saw the seats freed', () => {
    expect(expiryLags([{ reservationId: '1', expiresAt: 10_000, freedAt: 10_450 }])).toEqual([450]);
  });

  it('wait estimates: error as a share of the real wait, only for estimates seen once the line moved', () => {
    const admissions = [
      { ticket: 1, enteredAt: 0, activatedAt: 100 },
      { ticket: 2, enteredAt: 0, activatedAt: 5_000 }, // the first place freed and refilled: the line moves
      { ticket: 3, enteredAt: 0, activatedAt: 10_000 },
      { ticket: 4, enteredAt: 0, activatedAt: 14_000 },
    ];
    const figures = waitEstimateAccuracy(
      [
        { ticket: 2, estimateSeconds: 60, seenAt: 1_000 }, // before the line moved: left out
        { ticket: 3, estimateSeconds: 6, seenAt: 6_000 }, // real 4 s: 50% off
        { ticket: 4, estimateSeconds: 8, seenAt: 6_000 }, // real 8 s: exact
        { ticket: 5, estimateSeconds: 9, seenAt: 6_000 }, // never admitted: left out
      ],
      admissions,
      1,
    );
    expect(figures).toEqual({
      count: 2,
      medianErrorPercent: 0,
      p90ErrorPercent: 50,
      medianEstimateSeconds: 6,
      medianActualSeconds: 4,
      beforeLineMoved: 1,
    });
    expect(waitEstimateAccuracy([], admissions.slice(0, 1), 1)).toBeNull();
  });
});
