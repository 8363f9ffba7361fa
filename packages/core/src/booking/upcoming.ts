/**
 * An upcoming performance, in TypeScript and in SQL: booking's rule (hold-rules.ts re-exports it), which
 * the queue's sold-out rule (crowd-rules.ts) reads too. A module of its own, importing nothing, so the
 * queue's rules load without the ORM (the streams process, apps/api/src/streams/).
 */

/** An upcoming performance: it starts after `now`. One that has started is no longer on sale or listed. */
export function isUpcoming(performance: { startsAt: Date | string }, now: Date): boolean {
  return new Date(performance.startsAt) > now;
}

/** `isUpcoming` in SQL, for schedule alias `d` and a timestamptz expression `now`. */
export const UPCOMING_SQL = (d: string, now: string) => `(${d}.starts_at > ${now})`;
