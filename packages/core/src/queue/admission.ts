/** Pure rules of the admitter: how many to admit, and the admission rate behind `estimatedWaitSeconds`. */
import { createHmac } from 'node:crypto';

/**
 * A uniformly random order of `n` places, drawn from `seed` (32 random bytes at the opening): a Fisher–Yates
 * shuffle whose draws come from HMAC-SHA256(seed, counter) with rejection sampling, so the order is
 * unbiased, and anyone holding the logged seed can recompute it. `order[i]` is the place (0-based) of the
 * i-th pre-queued entry in arrival order.
 */
export function shuffledPlaces(n: number, seed: Buffer): number[] {
  const places = Array.from({ length: n }, (_, i) => i);
  let counter = 0;
  let pool: Buffer = Buffer.alloc(0);
  const next32 = (): number => {
    if (pool.length < 4) {
      pool = createHmac('sha256', seed).update(String(counter++)).digest();
    }
    const value = pool.readUInt32BE(0);
    pool = pool.subarray(4);
    return value;
  };
  const below = (k: number): number => {
    // the largest multiple of k below 2^32: values past it would favour small results
    const limit = 2 ** 32 - (2 ** 32 % k);
    for (;;) {
      const value = next32();
      if (value < limit) return value % k;
    }
  };
  for (let i = n - 1; i > 0; i--) {
    const j = below(i + 1);
    [places[i], places[j]] = [places[j] as number, places[i] as number];
  }
  return places;
}

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

/**
 * How long the admitter may catch up after a pause in its rounds under `admitPerMinute`: one round's
 * worth (rounds run about once a second), so a late round admits what it would have, never a burst.
 */
export const PACING_TOLERANCE_SECONDS = 1;

export type Pacing = {
  admitPerMinute: number;
  /** The theoretical time of the next admission, as the last round left it; null before any. */
  nextAt: Date | null;
  now: Date;
  /** Admissions in the minute up to now, `(now − 60 s, now]`. */
  admittedInWindow: number;
};

/**
 * How many a round may admit under `admitPerMinute` (N), and the pacing it leaves for `admitted` of them
 * (a generic cell rate algorithm): admissions are spaced `60 / N` seconds apart on a virtual schedule that
 * a late round may catch up on by at most `PACING_TOLERANCE_SECONDS`, so they spread evenly (N = 30 admits one every
 * two seconds, not 30 at the top of the minute); and never more than N − `admittedInWindow`, so no minute
 * ever holds more than N admissions, whatever the rounds' timing.
 */
export function paceAdmissions(pacing: Pacing): { allowed: number; nextAtAfter: (admitted: number) => Date } {
  const interval = 60_000 / pacing.admitPerMinute;
  const now = pacing.now.getTime();
  // no schedule yet (the first admission) reads as infinitely far behind
  const due = pacing.nextAt?.getTime() ?? Number.NEGATIVE_INFINITY;
  // behind schedule by at most the tolerance: catch up from the schedule; further behind (the first
  // admission, or the line or the rounds stopped a while): start afresh now, with no credit to burst
  const start = due >= now - PACING_TOLERANCE_SECONDS * 1000 ? due : now;
  // a schedule still ahead of now gives 0 or less here, which the clamp below makes 0
  const paced = Math.floor((now - start) / interval) + 1;
  const allowed = Math.max(0, Math.min(paced, pacing.admitPerMinute - pacing.admittedInWindow));
  return { allowed, nextAtAfter: (admitted) => new Date(start + admitted * interval) };
}

/** `admittedThrough` only grows: positions never increase (docs/ARCHITECTURE.md#invariants 11). */
export function nextAdmittedThrough(current: number, admittedTickets: readonly number[]): number {
  return admittedTickets.reduce((highest, ticket) => Math.max(highest, ticket), current);
}
