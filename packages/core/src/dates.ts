import { z } from 'zod';
import { wellFormedText } from './text.ts';

/** A calendar date `YYYY-MM-DD` that exists (no 2026-02-30). */
export const isoDate = wellFormedText
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'expected a date as YYYY-MM-DD', abort: true })
  .refine((value) => {
    const parsed = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
  }, 'not a calendar date');

/** An ISO 8601 date-time with its offset (`2030-01-01T10:00:00Z`), on well-formed text like every string input. */
export const isoDateTime = wellFormedText.pipe(z.iso.datetime({ offset: true }));

/**
 * The time zone of the concerts' calendar dates: the venues are in Korea (prices in KRW; the default
 * 10:00 UTC start is 19:00 there). "Today" for a concert date is today in this zone.
 */
export const CONCERT_TIME_ZONE = 'Asia/Seoul';

const concertDay = new Intl.DateTimeFormat('en-CA', { timeZone: CONCERT_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar date `YYYY-MM-DD` in CONCERT_TIME_ZONE at `now` (take `now` from the Clock). */
export function concertToday(now: Date): string {
  return concertDay.format(now);
}
