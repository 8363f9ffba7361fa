/**
 * Pure rules of the waiting room. A WAITING token's place is `ticket - admittedThrough`: O(1) to read,
 * exact while nobody ahead leaves, never increasing since `admittedThrough` only grows.
 */
export function positionOf(ticket: number, admittedThrough: number): number {
  return Math.max(1, ticket - admittedThrough);
}

/**
 * Seconds until admission: from the measured admission rate when there is one, else assuming a full
 * turnover of the active set every `activeTtlSeconds`.
 */
export function estimateWaitSeconds(
  position: number,
  admitRatePerMinute: number | null,
  maxActive: number,
  activeTtlSeconds: number,
): number {
  if (admitRatePerMinute !== null && admitRatePerMinute > 0) return Math.ceil((position / admitRatePerMinute) * 60);
  return Math.ceil((position / maxActive) * activeTtlSeconds);
}
