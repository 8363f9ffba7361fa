/** Builds the dependencies of use cases over a test database, for integration tests. */
import type { MikroORM } from '@frontrow/db';
import { type Clock, systemClock } from './clock.ts';
import type { Deps, DomainSettings } from './deps.ts';
import { type JobScheduler, noJobs } from './jobs.ts';

export const testSettings: DomainSettings = {
  holdTtlSeconds: 300,
  defaultMaxActive: 100,
  defaultActiveTtlSeconds: 600,
  defaultArrivalSeconds: 60,
  walletMaxBalance: 100_000_000,
};

export function testDeps(orm: MikroORM, overrides: { clock?: Clock; jobs?: JobScheduler; settings?: Partial<DomainSettings> } = {}): Deps {
  return {
    em: orm.em,
    clock: overrides.clock ?? systemClock,
    jobs: overrides.jobs ?? noJobs,
    settings: { ...testSettings, ...overrides.settings },
  };
}
