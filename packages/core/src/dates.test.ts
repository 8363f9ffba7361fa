import { describe, expect, it } from 'vitest';
import { concertToday } from './dates.ts';

describe('concertToday', () => {
  it('is the calendar date in Seoul: 15:00 UTC is already the next day there', () => {
    expect(concertToday(new Date('2030-01-01T14:59:59Z'))).toBe('2030-01-01');
    expect(concertToday(new Date('2030-01-01T15:00:00Z'))).toBe('2030-01-02');
  });
});
