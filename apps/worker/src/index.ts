export { buildWorker, every, type Worker, type WorkerDeps, type JobModule } from './worker.ts';
export { allJobs } from './jobs/index.ts';
