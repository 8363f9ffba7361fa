/**
 * One API process against DATABASE_URL (`pnpm start:api`). Neither migrates nor seeds: run
 * `frontrow db migrate` first. SIGTERM stops taking requests, finishes those in flight, closes pools, exits 0.
 */
import closeWithGrace from 'close-with-grace';
import {
  AdmissionMemory,
  WatchRegistry,
  EnterBatcher,
  createIdentityVerifier,
  createTokenSigner,
  devSignInFor,
  domainSettings,
  parseConfig,
  resolveAuth,
  resolveTokenSecret,
  systemClock,
} from '@frontrow/core';
import { assertSchemaCurrent, databaseName, openOrm } from '@frontrow/db';
import { bossJobScheduler, startBoss } from '@frontrow/jobs';
import { buildServer } from './server.ts';
import { DEFAULT_WEB_ROOT } from './web.ts';

/** Connections waiting to be accepted (OPERATIONS.md, Sizing): the kernel caps it at net.core.somaxconn. */
const LISTEN_BACKLOG = 8192;

try {
  const config = parseConfig(process.env);
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is required for start:api (use `pnpm start` for the embedded database)');
  }
  const secret = await resolveTokenSecret(config);
  const auth = await resolveAuth(config);
  const orm = await openOrm({ databaseUrl: config.DATABASE_URL, poolSize: config.DB_POOL_SIZE });
  // never migrates nor creates: a missing database or a schema behind the code stops here, saying what to run
  await assertSchemaCurrent(orm, databaseName(config.DATABASE_URL));
  // a sender only: jobs are run by worker processes
  let logError: (error: Error) => void = (error) => console.error('pg-boss error', error.message);
  // WAITING polls and queue.watch streams are answered from this process's copy of the admission state
  let logWarn: (error: unknown, message: string) => void = () => undefined;
  const admissions = new AdmissionMemory({
    em: orm.em,
    databaseUrl: config.DATABASE_URL,
    onError: (error) => logWarn(error, 'admission state: read or LISTEN failed (retrying)'),
  });
  const boss = await startBoss({ databaseUrl: config.DATABASE_URL, listen: false, onError: (error) => logError(error) });
  const app = await buildServer({
    orm,
    inner: {
      em: orm.em,
      clock: systemClock,
      jobs: bossJobScheduler(boss),
      settings: domainSettings(config),
      tokens: createTokenSigner(secret),
      identities: createIdentityVerifier(auth),
      devSignIn: devSignInFor(auth),
      admissions,
      watches: new WatchRegistry(config.WATCH_MAX_STREAMS),
      entries: new EnterBatcher(orm.em, { windowMs: config.QUEUE_ENTER_BATCH_MS, maxGroup: config.QUEUE_ENTER_BATCH_MAX }),
    },
    webRoot: config.WEB_ROOT ?? DEFAULT_WEB_ROOT,
    logger: { level: config.LOG_LEVEL },
    queueEnterRateLimit: config.QUEUE_ENTER_RATE_LIMIT,
    maxBatch: config.TRPC_MAX_BATCH,
    ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY } : {}),
    jobQueues: boss,
  });
  // the database away is one line per change of state (the server's), not one stack per pg-boss retry
  logError = (error) => {
    if (!app.databaseState.failed(error, 'pg-boss')) app.log.warn({ err: error }, 'pg-boss error');
  };
  logWarn = (error, message) => {
    if (!app.databaseState.failed(error, 'admission state')) app.log.warn({ err: error }, message);
  };

  closeWithGrace({ delay: 20_000, logger: { error: (message: unknown) => app.log.error(message) } }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'stopping after an uncaught error');
    else app.log.info({ signal }, 'stopping: draining requests in flight');
    await app.close();
    await admissions.close();
    await boss.stop({ graceful: true, timeout: 5_000 });
    await orm.close(true);
    app.log.info('stopped');
  });

  // a connect storm (thousands of queue.watch streams reconnecting at once) overflows Node's default
  // backlog of 511 and the kernel resets the rest: ask for more (the kernel caps it at net.core.somaxconn)
  await app.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG });
} catch (error) {
  // a configuration or connection problem: one clear line, no stack
  console.error(`frontrow api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
