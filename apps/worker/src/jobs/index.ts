import type { JobModule } from '../worker.ts';
import { holdExpireJob } from './hold-expire.ts';
import { holdsSweepJob } from './holds-sweep.ts';
import { queueAdmitJob } from './queue-admit.ts';
import { queueTokensPurgeJob } from './queue-tokens-purge.ts';

/** Every job of the worker process (docs/ARCHITECTURE.md#background-jobs). */
export const allJobs: JobModule[] = [holdExpireJob, holdsSweepJob, queueAdmitJob, queueTokensPurgeJob];
