/**
 * The two lag figures of the bench, as pure functions of timestamps (epoch ms) read back from the database
 * and the client (docs/BENCHMARKS.md defines them).
 */

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
