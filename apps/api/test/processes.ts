/** Child processes of the process-level tests: the real `main.ts` entry points, started and stopped by pid. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { freePort } from '@frontrow/db';
import { TEST_AUTH_SECRET } from '../src/testing.ts';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const apiMain = join(repoRoot, 'apps/api/src/main.ts');
export const workerMain = join(repoRoot, 'apps/worker/src/main.ts');
export const streamsMain = join(repoRoot, 'apps/api/src/streams/main.ts');
export const cliMain = join(repoRoot, 'apps/cli/src/main.ts');

export const TEST_TOKEN_SECRET = 'e2e-test-secret-0123456789abcdefghijklmnop';
/** AUTH_DEV_SECRET of the spawned APIs (the same as the in-process tests': `signIn` from src/testing.ts). */
export { TEST_AUTH_SECRET } from '../src/testing.ts';

/** Output kept per process: its last 256 KiB (a flash crowd's error lines would otherwise grow without bound). */
const OUTPUT_LIMIT = 256 * 1024;
/** How long `stopSpawned` waits for a graceful exit (which flushes the API's buffered log lines) before SIGKILL. */
const GRACEFUL_STOP_MS = 5_000;

export type Spawned = {
  /** Which process this is, in failure output: the script's folder and pid (`api#1234`). */
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last OUTPUT_LIMIT characters of stdout and stderr, for assertions and for failure messages. */
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Every process this test file spawned, for `stopSpawned` (vitest runs each file in a module graph of its own). */
const spawned: Spawned[] = [];
/** Whether a test of this file failed: `stopSpawned` then prints the processes' output. */
let aTestFailed = false;
afterEach(({ task }) => {
  if (task.result?.state === 'fail') aTestFailed = true;
});

/** Runs `node <script> ...args` with only PATH and `env` in its environment (never the test's own). */
export function spawnNode(script: string, env: Record<string, string>, args: string[] = []): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // a ring of the latest output: trimmed to its last OUTPUT_LIMIT characters once it holds twice that
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2 * OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  const running = () => child.exitCode === null && child.signalCode === null;
  const process_: Spawned = {
    name: `${basename(join(script, '../..'))}#${pid}`,
    child,
    pid,
    output: () => output.slice(-OUTPUT_LIMIT),
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (running()) child.kill(signal);
      return await exited;
    },
  };
  spawned.push(process_);
  return process_;
}

/**
 * For afterAll, before the database goes: stops every process the file spawned that still runs (SIGTERM, so
 * the API writes its buffered log lines; SIGKILL after GRACEFUL_STOP_MS) and, if a test of the file failed,
 * prints each one's output, so the cause of a failure (a 500's error line and stack) shows.
 */
export async function stopSpawned(): Promise<void> {
  await Promise.all(
    spawned.map(async (child) => {
      const timer = setTimeout(() => child.child.kill('SIGKILL'), GRACEFUL_STOP_MS);
      await child.stop('SIGTERM');
      clearTimeout(timer);
    }),
  );
  if (!aTestFailed) return;
  for (const child of spawned) {
    const output = child.output();
    console.error(`--- output of ${child.name} (last ${output.length} characters) ---\n${output}--- end of ${child.name} ---`);
  }
}

/** Polls `check` until it holds; fails with `what` (and the last error) at the deadline. No fixed sleeps. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** GET that never hangs the test: a request that takes longer than `timeoutMs` fails. */
export async function get(url: string, timeoutMs = 5_000): Promise<Response> {
  return await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
}

export async function waitForReady(baseUrl: string, process?: Spawned, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${baseUrl}/readyz${process ? `\n${process.output()}` : ''}`,
    async () => {
      if (process && process.child.exitCode !== null) throw new Error(`exited early:\n${process.output()}`);
      return (await get(`${baseUrl}/readyz`, 2_000)).status === 200;
    },
    timeoutMs,
  );
}

/** A temporary directory the `postgres` user can reach (the embedded server runs as `postgres` under root). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** An API process of its own on a free port of 127.0.0.1, ready (and stopped by `stopSpawned` if a test fails). */
export async function startApiProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ base: string; port: number; server: Spawned }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawnNode(apiMain, {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    DB_POOL_SIZE: '2',
    LOG_LEVEL: 'info',
    ...env,
  });
  await waitForReady(base, server);
  return { base, port, server };
}

/** Resolves with the exit of `child`, or fails the test if it still runs after `boundMs`. */
export async function exitWithin(child: Spawned, boundMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${child.name} still running after ${boundMs} ms:\n${child.output()}`)), boundMs);
  });
  try {
    return await Promise.race([child.exited, bound]);
  } finally {
    clearTimeout(timer);
  }
}
