import type { EntityManager } from '@frontrow/db';
import type { Clock } from './clock.ts';
import type { JobScheduler } from './jobs.ts';

/** Settings use cases need, taken from Config by the composition roots. */
export type DomainSettings = {
  holdTtlSeconds: number;
  defaultMaxActive: number;
  defaultActiveTtlSeconds: number;
  /** QUEUE_ARRIVAL_SECONDS: how long an admitted user has to show up, for new concerts. */
  defaultArrivalSeconds: number;
  /** The most a wallet may hold (WALLET_MAX_BALANCE): a charge past it is BALANCE_LIMIT_EXCEEDED. */
  walletMaxBalance: number;
};

/** What every use case runs on: `openRuntime` builds it for the API, the worker and the CLI, `testDeps` for tests. */
export type Deps = {
  em: EntityManager;
  clock: Clock;
  jobs: JobScheduler;
  settings: DomainSettings;
};
