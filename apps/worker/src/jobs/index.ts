import type { JobModule } from '../worker.ts';

/** Every job of the worker process (DESIGN.md, "Background work"). */
export const allJobs: JobModule[] = [];
