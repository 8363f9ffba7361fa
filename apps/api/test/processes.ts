/** Child processes of the process-level tests: the real `main.ts` entry points, started and stopped by pid. */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const apiMain = join(repoRoot, 'apps/api/src/main.ts');
export const workerMain = join(repoRoot, 'apps/worker/src/main.ts');
export const cliMain = join(repoRoot, 'apps/cli/src/main.ts');

export const TEST_TOKEN_SECRET = 'e2e-test-secret-0123456789abcdefghijklmnop';
/** AUTH_DEV_SECRET of the spawned APIs (the same as the in-process tests': `signIn` from src/testing.ts). */
export { TEST_AUTH_SECRET } from '../src/testing.ts';

export type Spawned = {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr so far, for assertions and for failure messages. */
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Runs `node <script> ...args` with only PATH and `env` in its environment (never the test's own). */
export function spawnNode(script: string, env: Record<string, string>, args: string[] = []): Spawned {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  return {
    child,
    pid,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return await exited;
    },
  };
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
