/** Pure rules of the admitter: how many to admit, and the admission rate behind `estimatedWaitSeconds`. */

/** The window over which the admitter measures its admission rate: the last minute. */
export const ADMIT_RATE_WINDOW_SECONDS = 60;

/** Free ACTIVE places: never negative, even if `maxActive` was lowered below the active count. */
export function slotsToAdmit(maxActive: number, active: number): number {
  return Math.max(0, maxActive - active);
}

/**
 * Admissions per minute over the window: the tokens admitted after the window's first admission round,
 * over the seconds from that round to this one. The first round's own admissions are left out, since
 * they filled places freed before it (or free from the start: a sale's opening fill is not a rate).
 * Null while there is nothing to measure (fewer than two rounds admitted anybody in the window): the
 * estimate then falls back.
 */
export function admitRatePerMinute(admittedAfterFirstRound: number, secondsSinceFirstRound: number): number | null {
  if (admittedAfterFirstRound <= 0 || secondsSinceFirstRound <= 0) return null;
  return (admittedAfterFirstRound / secondsSinceFirstRound) * 60;
}

/** `admittedThrough` only grows: positions never increase (DESIGN.md, "The queue"). */
export function nextAdmittedThrough(current: number, admittedTickets: readonly number[]): number {
  return admittedTickets.reduce((highest, ticket) => Math.max(highest, ticket), current);
}
