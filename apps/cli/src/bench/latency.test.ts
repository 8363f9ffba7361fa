import { describe, expect, it } from 'vitest';
import { admissionLatencies, expiryLags } from './latency.ts';

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
});
