/**
 * One worker process against DATABASE_URL (`pnpm start:worker`): hold expiry, sweeps, queue admission.
 * Any number may run at once. SIGTERM stops taking jobs, lets running ones finish, closes pools, exits 0.
 */
import closeWithGrace from 'close-with-grace';
import { type Config, domainSettings, parseConfig, systemClock } from '@frontrow/core';
import { openOrm } from '@frontrow/db';
import { bossJobScheduler, startBoss } from '@frontrow/db/boss';
import { allJobs } from './jobs/index.ts';
import { type WorkerLog, buildWorker } from './worker.ts';

try {
  const config = parseConfig(process.env);
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is required for start:worker (use `pnpm start` for the embedded database)');
  }
  const log = jsonLog(config.LOG_LEVEL);
  const orm = await openOrm({ databaseUrl: config.DATABASE_URL, poolSize: config.DB_POOL_SIZE });
  const boss = await startBoss({
    databaseUrl: config.DATABASE_URL,
    listen: true,
    onError: (error) => log.error({ err: error }, 'pg-boss error'),
  });
  const worker = buildWorker(
    { orm, boss, clock: systemClock, jobs: bossJobScheduler(boss), settings: domainSettings(config), log },
    allJobs,
  );

  closeWithGrace(
    { delay: 20_000, logger: { error: (message: unknown) => log.error({ message }, 'shutdown') } },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'stopping after an uncaught error');
      else log.info({ signal }, 'stopping: finishing running jobs');
      await worker.stop();
      await orm.close(true);
      log.info({}, 'stopped');
    },
  );

  await worker.start();
  log.info({ pid: process.pid, jobs: allJobs.length }, 'worker started');
} catch (error) {
  console.error(`frontrow worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

/** JSON lines on stdout, in the shape of the API's pino logs (level, time, msg), at LOG_LEVEL and above. */
function jsonLog(level: Config['LOG_LEVEL']): WorkerLog {
  const levels = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };
  const write = (at: number, obj: object, msg?: string) => {
    if (at < levels[level]) return;
    const fields = Object.fromEntries(
      Object.entries(obj).map(([key, value]) => [key, value instanceof Error ? errorFields(value) : value]),
    );
    process.stdout.write(`${JSON.stringify({ level: at, time: Date.now(), pid: process.pid, ...fields, msg })}\n`);
  };
  return { info: (obj, msg) => write(levels.info, obj, msg), error: (obj, msg) => write(levels.error, obj, msg) };
}

function errorFields(error: Error): object {
  return { type: error.name, message: error.message, stack: error.stack };
}
