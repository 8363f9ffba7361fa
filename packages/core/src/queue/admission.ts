/** Pure rules of the admitter: how many to admit, and the admission rate behind `estimatedWaitSeconds`. */

/** The window over which the admitter measures its admission rate (docs/ARCHITECTURE.md#the-queue). */
export const ADMIT_RATE_WINDOW_MINUTES = 3;

/** Free ACTIVE places: never negative, even if `maxActive` was lowered below the active count. */
export function slotsToAdmit(maxActive: number, active: number): number {
  return Math.max(0, maxActive - active);
}

/** Admissions per minute over the window, or null when nobody was admitted in it (the estimate then falls back). */
export function admitRatePerMinute(admittedInWindow: number, windowMinutes: number = ADMIT_RATE_WINDOW_MINUTES): number | null {
  if (admittedInWindow <= 0 || windowMinutes <= 0) return null;
  return admittedInWindow / windowMinutes;
}

/** `admittedThrough` only grows: positions never increase (docs/ARCHITECTURE.md#invariants 11). */
export function nextAdmittedThrough(current: number, admittedTickets: readonly number[]): number {
  return admittedTickets.reduce((highest, ticket) => Math.max(highest, ticket), current);
}
