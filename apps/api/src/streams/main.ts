/**
 * One streams process against DATABASE_URL (`pnpm start:streams`, OPERATIONS.md "The streams process"):
 * `GET /trpc/queue.watch` only, for the API's queue tokens (the same TOKEN_SECRET). Loads no ORM and no
 * web framework. Neither migrates nor seeds; refuses to start on a missing database or a schema behind
 * the code. SIGTERM ends the open streams (their clients reconnect), closes the pool, exits 0.
 */
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import {
  AdmissionMemory,
  type RunSql,
  WatchRegistry,
  assertSchemaCurrentBy,
  createTokenSigner,
  databaseName,
  openPool,
  parseConfig,
  pendingMigrationsBy,
  systemClock,
} from '@frontrow/core/edge';
import { LOG_CLOSE_FLUSH_MS, REDACTED_PATHS, stdoutDestination } from '../log-output.ts';
import { createStreamsServer } from './server.ts';

/** Connections waiting to be accepted: a reconnect storm of thousands of streams (as main.ts). */
const LISTEN_BACKLOG = 8192;

try {
  const config = parseConfig(process.env);
  const databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required for start:streams');
  if (!config.TOKEN_SECRET) throw new Error("TOKEN_SECRET is required for start:streams: the API's own, to verify its queue tokens");
  const stdout = stdoutDestination();
  const log = pino({ level: config.LOG_LEVEL, base: { process: 'streams' }, redact: REDACTED_PATHS }, stdout);

  const pool = openPool({
    databaseUrl,
    max: config.DB_POOL_SIZE,
    name: 'frontrow streams',
    onError: (error) => log.warn({ err: error }, 'database connection lost'),
  });
  const run: RunSql = async <T extends object>(sql: string) => (await pool.query(sql)).rows as T[];
  try {
    await assertSchemaCurrentBy(run, databaseName(databaseUrl));
  } catch (error) {
    await pool.end();
    throw error;
  }
  const streams = createStreamsServer({
    deps: {
      em: pool,
      clock: systemClock,
      tokens: createTokenSigner(config.TOKEN_SECRET),
      admissions: new AdmissionMemory({
        em: pool,
        databaseUrl,
        // the database away is one line per change of state, not one per retry
        onError: (error) => {
          if (!streams.database.failed(error, 'admission state'))
            log.warn({ err: error }, 'admission state: read or LISTEN failed (retrying)');
        },
      }),
      watches: new WatchRegistry(config.WATCH_MAX_STREAMS),
    },
    database: { ping: () => pool.query('select 1'), pendingMigrations: () => pendingMigrationsBy(run) },
    log,
  });

  closeWithGrace({ delay: 20_000, logger: { error: (message: unknown) => log.error(message) } }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'stopping after an uncaught error');
    else log.info({ signal }, 'stopping: ending open streams');
    await streams.close();
    await streams.deps.admissions?.close();
    await pool.end();
    log.info('stopped');
    await stdout.close(LOG_CLOSE_FLUSH_MS);
  });

  await new Promise<void>((resolve, reject) => {
    streams.server.once('error', reject);
    streams.server.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG }, resolve);
  });
  log.info({ address: streams.server.address() }, 'streams: listening');
} catch (error) {
  // a configuration or connection problem: one clear line, no stack
  console.error(`frontrow streams: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
