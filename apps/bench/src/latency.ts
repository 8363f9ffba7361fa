/**
 * The two lag figures of the bench, as pure functions of timestamps (epoch ms) read back from the database
 * and the client (docs/BENCHMARKS.md defines them).
 */
import { percentile } from './recorder.ts';

export type Admission = { ticket: number; enteredAt: number; activatedAt: number };

/**
 * Admission latency: how long a freed slot of the line stays empty while someone waits for it.
 *
 * The admitter fills a concert's `maxActive` slots in ticket order. The first `initialFree` admissions
 * take slots that were free when the run began; after that, the j-th admission fills the j-th slot freed
 * (a payment, a leave, a lapse), in time order. Its latency is `activatedAt − max(freedAt, enteredAt)`:
 * from the moment the slot was free and this user was waiting, to the moment the user was ACTIVE.
 * Admissions with no freed slot to pair with (the run ended first) are not counted.
 */
export function admissionLatencies(admissions: Admission[], freedAt: number[], initialFree: number): number[] {
  const admitted = [...admissions].sort((a, b) => a.activatedAt - b.activatedAt || a.ticket - b.ticket);
  const frees = [...freedAt].sort((a, b) => a - b);
  const latencies: number[] = [];
  for (let j = 0; j < frees.length; j++) {
    const admission = admitted[Math.max(0, initialFree) + j];
    const freed = frees[j];
    if (!admission || freed === undefined) break;
    latencies.push(Math.max(0, admission.activatedAt - Math.max(freed, admission.enteredAt)));
  }
  return latencies;
}

export type LapsedHold = { reservationId: string; expiresAt: number; freedAt: number };

/** Hold-expiry lag: from a hold's `expiresAt` to the first sample that saw it EXPIRED with no seat still HELD for it. */
export function expiryLags(lapsed: LapsedHold[]): number[] {
  return lapsed.map((hold) => Math.max(0, hold.freedAt - hold.expiresAt));
}

/** The `estimatedWaitSeconds` a user was shown, and when (epoch ms, taken as the status call was sent). */
export type SeenEstimate = { ticket: number; estimateSeconds: number; seenAt: number };

export type WaitEstimateFigures = {
  /** Estimates compared: seen once the line moved, by users admitted after seeing them. */
  count: number;
  /** Median of |estimate − actual| / actual, in percent. */
  medianErrorPercent: number;
  p90ErrorPercent: number;
  medianEstimateSeconds: number;
  medianActualSeconds: number;
  /** Estimates seen before the line moved (the first turnover admission): left out. */
  beforeLineMoved: number;
};

/**
 * How far the wait estimate was from the real wait: for each estimate a user saw while WAITING, the real
 * wait is its `activatedAt` − `seenAt`. Only estimates seen once the line moved count: from the first
 * admission after the `initialFree` places free at the start, i.e. the first place freed and refilled
 * (before that there is no admission rate to measure, and the estimate is the stated upper bound).
 */
export function waitEstimateAccuracy(seen: SeenEstimate[], admissions: Admission[], initialFree: number): WaitEstimateFigures | null {
  const admitted = [...admissions].sort((a, b) => a.activatedAt - b.activatedAt || a.ticket - b.ticket);
  const lineMovedAt = admitted[Math.max(0, initialFree)]?.activatedAt;
  if (lineMovedAt === undefined) return null;
  const activatedAt = new Map(admissions.map((a) => [a.ticket, a.activatedAt]));
  const errors: number[] = [];
  const estimates: number[] = [];
  const actuals: number[] = [];
  let beforeLineMoved = 0;
  for (const s of seen) {
    const activated = activatedAt.get(s.ticket);
    if (s.seenAt < lineMovedAt) {
      beforeLineMoved++;
      continue;
    }
    if (activated === undefined || activated <= s.seenAt) continue;
    const actual = (activated - s.seenAt) / 1000;
    errors.push((Math.abs(s.estimateSeconds - actual) / actual) * 100);
    estimates.push(s.estimateSeconds);
    actuals.push(actual);
  }
  if (errors.length === 0) return null;
  const median = (values: number[], q = 0.5) => percentile(Float64Array.from(values).sort(), q);
  return {
    count: errors.length,
    medianErrorPercent: median(errors),
    p90ErrorPercent: median(errors, 0.9),
    medianEstimateSeconds: median(estimates),
    medianActualSeconds: median(actuals),
    beforeLineMoved,
  };
}
