export { JOB, type JobName, holdExpirePayload, type HoldExpireJob, queueAdmitPayload, type QueueAdmitJob } from './names.ts';
export { startBoss, type BossOptions, PgBoss } from './boss.ts';
export { bossJobScheduler, coalesced } from './scheduler.ts';
