/**
 * Pure rules of the waiting room. A WAITING token's place is `ticket - admittedThrough`: O(1) to read,
 * exact while nobody ahead leaves, never increasing since `admittedThrough` only grows.
 */
export function positionOf(ticket: number, admittedThrough: number): number {
  return Math.max(1, ticket - admittedThrough);
}

/** What the estimate reads off the concert row (the admitter's figures as its last round left them). */
export type AdmissionFigures = {
  maxActive: number;
  /** ACTIVE tokens after the admitter's last round. */
  activeCount: number;
  activeTtlSeconds: number;
  /** Measured over the last minute; null until measured. */
  admitRatePerMinute: number | null;
  /** The operator's cap on admissions a minute, or null. */
  admitPerMinute?: number | null;
};

/**
 * The estimate for a place within the free ACTIVE places: the admitter runs about once a second, and at
 * once when nudged, so such a place is admitted by its next round.
 */
export const NEXT_ROUND_SECONDS = 1;

/**
 * Seconds until admission (API.md, `estimatedWaitSeconds`), rounded, at least `NEXT_ROUND_SECONDS`:
 * - a place within the free ACTIVE places (`maxActive − activeCount`) is admitted by the next round;
 * - further back, `free` places go at the next round and the rest wait for places to free:
 *   `(position − free) / rate`, the rate being the admissions per second measured over the last minute;
 * - with no rate measured yet, each `maxActive` places ahead take at most one `activeTtl` (every ACTIVE
 *   token lapses by then): `(position − free) / maxActive × activeTtl`, an upper bound;
 * - with a cap of `admitPerMinute` (N), never less than the cap allows: `position × 60 / N`.
 */
export function estimateWaitSeconds(position: number, figures: AdmissionFigures): number {
  const capped = figures.admitPerMinute ? Math.round((position * 60) / figures.admitPerMinute) : 0;
  return Math.max(capped, uncappedWaitSeconds(position, figures));
}

function uncappedWaitSeconds(position: number, figures: AdmissionFigures): number {
  // a place within the free ones (behindFree ≤ 0) has nothing ahead of it but the next round (the max below)
  const behindFree = position - Math.max(0, figures.maxActive - figures.activeCount);
  const rate = figures.admitRatePerMinute ?? 0;
  const seconds = rate > 0 ? (behindFree / rate) * 60 : (behindFree / Math.max(1, figures.maxActive)) * figures.activeTtlSeconds;
  return Math.max(NEXT_ROUND_SECONDS, Math.round(seconds));
}
