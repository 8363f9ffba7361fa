/** Pure rules of the admitter: how many to admit, and the admission rate behind `estimatedWaitSeconds`. */

/** The window over which the admitter measures its admission rate: the last minute (docs/ARCHITECTURE.md#the-queue). */
export const ADMIT_RATE_WINDOW_SECONDS = 60;

/** Free ACTIVE places: never negative, even if `maxActive` was lowered below the active count. */
export function slotsToAdmit(maxActive: number, active: number): number {
  return Math.max(0, maxActive - active);
}

/**
 * Admissions per minute over the window: the tokens admitted after the window's second admission round
 * (the line moving), over the seconds from that round to this one. The first round may be a sale's
 * opening fill of places that were free, followed by a pause until the first admitted users finish:
 * neither is the pace at which places free. Null while there is nothing to measure (fewer than three
 * rounds admitted anybody in the window): the estimate then falls back.
 */
export function admitRatePerMinute(admittedSinceRound: number, secondsSinceRound: number): number | null {
  if (admittedSinceRound <= 0 || secondsSinceRound <= 0) return null;
  return (admittedSinceRound / secondsSinceRound) * 60;
}

/** `admittedThrough` only grows: positions never increase (docs/ARCHITECTURE.md#invariants 11). */
export function nextAdmittedThrough(current: number, admittedTickets: readonly number[]): number {
  return admittedTickets.reduce((highest, ticket) => Math.max(highest, ticket), current);
}
