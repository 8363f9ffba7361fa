/**
 * One worker process against DATABASE_URL (`pnpm start:worker`): hold expiry, sweeps, queue admission.
 * Any number may run at once. SIGTERM stops taking jobs, lets running ones finish, closes pools, exits 0.
 */
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { databaseState, parseConfig } from '@frontrow/core';
import { openRuntime } from '@frontrow/runtime';
import { allJobs } from './jobs/index.ts';
import { type WorkerLog, buildWorker } from './worker.ts';

try {
  const config = parseConfig(process.env);
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is required for start:worker (use `pnpm start` for the embedded database)');
  }
  // the same JSON lines as the API's logs (Fastify's pino)
  const logger = pino({ level: config.LOG_LEVEL });
  // never migrates nor creates the schema
  const runtime = await openRuntime(config, { role: 'worker', schema: 'assert' });
  // the database away is one line per change of state, not one stack per failed job, tick or pg-boss retry
  const database = databaseState(logger, () => runtime.orm.em.getConnection().execute('select 1'));
  runtime.onClose(async () => database.stop());
  const log: WorkerLog = {
    info: (obj, msg) => logger.info(obj, msg),
    error: (obj, msg) => {
      const err = 'err' in obj ? obj.err : undefined;
      if (err === undefined || !database.failed(err, msg ?? 'worker')) logger.error(obj, msg);
    },
  };
  runtime.reportErrorsTo((error) => log.error({ err: error }, 'pg-boss error'));
  if (!runtime.boss) throw new Error('the worker runtime has no pg-boss');
  const worker = buildWorker(
    { ...runtime.deps, boss: runtime.boss, log, tokenRetentionSeconds: config.QUEUE_TOKEN_RETENTION_SECONDS },
    allJobs,
  );
  runtime.onClose(() => worker.stop());

  closeWithGrace(
    { delay: 20_000, logger: { error: (message: unknown) => log.error({ message }, 'shutdown') } },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'stopping after an uncaught error');
      else log.info({ signal }, 'stopping: finishing running jobs');
      await runtime.close();
      log.info({}, 'stopped');
    },
  );

  await worker.start();
  log.info({ pid: process.pid, jobs: allJobs.length }, 'worker started');
} catch (error) {
  console.error(`frontrow worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
