import type { Deps } from '../deps.ts';

/**
 * Asks for an admission round now that a slot is free. Called after commit and best effort: a lost
 * nudge costs at most the worker's next one-second round, never a wrong answer to the caller, whose
 * change is already committed.
 */
export async function nudgeAdmission(deps: Pick<Deps, 'jobs'>, concertId: string): Promise<void> {
  await deps.jobs.nudgeAdmission(concertId).catch(() => undefined);
}
