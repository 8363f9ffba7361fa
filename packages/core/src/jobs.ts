import type { EntityManager } from '@frontrow/db';

/**
 * What use cases ask of the background worker. Implemented over pg-boss by `@frontrow/jobs`
 * (`bossJobScheduler`); core does not know pg-boss. `expireHoldAt` enqueues inside the caller's
 * transaction (`em`), so the job exists exactly when the hold does.
 */
export type JobScheduler = {
  expireHoldAt(em: EntityManager, reservationId: string, at: Date): Promise<void>;
  /** Ask for an admission round of a concert now (a slot was freed). Best effort, after commit. */
  nudgeAdmission(concertId: string): Promise<void>;
};

/** For processes that run no jobs (the CLI) and tests that do not look at jobs. */
export const noJobs: JobScheduler = {
  expireHoldAt: async () => {},
  nudgeAdmission: async () => {},
};
