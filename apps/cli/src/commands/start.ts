/**
 * `frontrow start` (`pnpm start`): the whole service in one process for a local run. With no DATABASE_URL
 * it starts the embedded PostgreSQL under DATA_DIR/pg; then migrates, seeds a demo concert into an empty
 * database, and runs the API and the worker. SIGINT (Ctrl-C) or SIGTERM stops the API, the worker, the
 * pools, then the embedded server, prints `stopped` and exits 0; more of them meanwhile are ignored.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import type { Config } from '@frontrow/core';
import type { Runtime, RuntimeFactory } from '../runtime.ts';

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
    { buildApiServer, DEFAULT_WEB_ROOT },
    { seedDemoConcert },
    { openRuntime },
    { allJobs, buildWorker },
  ] = await Promise.all([
    import('close-with-grace'),
    import('@frontrow/api'),
    import('@frontrow/core'),
    import('@frontrow/runtime'),
    import('@frontrow/worker'),
  ]);
  const webRoot = config.WEB_ROOT ?? DEFAULT_WEB_ROOT;
  // a fresh clone's first start builds the web app when `scripts/setup.sh` did not (a few seconds)
  const webBuild = config.WEB_ROOT ? Promise.resolve() : buildWebAppIfMissing(webRoot);
  webBuild.catch(() => undefined); // awaited below; a failed start before then must not also report it unhandled
  // the embedded server when DATABASE_URL is unset, migrations, pg-boss (running jobs), the API's parts;
  // its close is the one shutdown order: what is registered below, then the pools, then the database
  const runtime = await openRuntime(config, { role: 'all', embedded: 'start', schema: 'migrate' });
  try {
    await webBuild;
    const seeded = await seedDemoConcert(runtime.deps);
    // pg-boss's errors before the API (and its logger) exists are held by the runtime until then
    const app = await buildApiServer(runtime, { webRoot });
    if (!runtime.boss) throw new Error('the runtime of frontrow start has no pg-boss');
    const worker = buildWorker(
      {
        ...runtime.deps,
        boss: runtime.boss,
        log: {
          info: (obj, msg) => app.log.info(obj, msg),
          error: (obj, msg) => ('err' in obj && app.databaseState.failed(obj.err, msg ?? 'worker') ? undefined : app.log.error(obj, msg)),
        },
      },
      allJobs,
    );
    // closed newest first: the API stops taking requests, then the worker its jobs, then pools and database
    runtime.onClose(() => worker.stop());
    runtime.onClose(() => app.close());
    await worker.start();
    await app.listen({ host: config.HOST, port: config.PORT });

    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
    report.started({ url: `http://${host}:${port}`, embedded: runtime.embedded, migrationsApplied: runtime.migrationsApplied, seeded });

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
        await runtime.close();
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
    await runtime.close();
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
