/**
 * `pnpm start` stopped from a terminal: Ctrl-C sends SIGINT to the whole foreground process group, pnpm
 * and the embedded PostgreSQL included, and pnpm forwards it to its script once more. The script `exec`s
 * node (no shell left to die of the signal and fail the script), the CLI ignores the repeated signal, the
 * server runs in a session of its own: the CLI stops the API, the worker and the pools first, then the
 * server, says `stopped` and exits 0, and pnpm with it (no ELIFECYCLE).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@frontrow/db';
import { processesMentioning } from '@frontrow/db/testing';
import { cliMain } from './run-cli.ts';

let dir: string | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * pnpm as the test run got it: the script pnpm runs under `pnpm test` (`npm_execpath`), else the `pnpm` on
 * PATH (`scripts/pnpm` puts the toolchain's there).
 */
function pnpmCommand(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm\.c?js$/.test(execPath)) return [process.execPath, [execPath]];
  return ['pnpm', []];
}

/** `frontrow start` (or, with `viaPnpm`, the root `pnpm start` script) in a process group of its own, as a shell starts a foreground job. */
async function startInGroup(args: string[] = [], { viaPnpm = false } = {}) {
  dir = await mkdtemp(join(tmpdir(), 'frontrow-start-'));
  await chmod(dir, 0o755); // the embedded server runs as `postgres` under root
  const port = await freePort();
  const env = { PATH: process.env.PATH ?? '', DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const [pnpm, pnpmArgs] = pnpmCommand();
  const [command, commandArgs] = viaPnpm ? [pnpm, [...pnpmArgs, 'start', ...args]] : [process.execPath, [cliMain, 'start', ...args]];
  const started = spawn(command, commandArgs, {
    cwd: repoRoot,
    // pnpm's once-a-day update notice is not the script's output
    env: viaPnpm ? { ...env, HOME: process.env.HOME ?? dir, npm_config_update_notifier: 'false' } : env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  let output = '';
  started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => started.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (started.exitCode !== null) throw new Error(`exited early:\n${output}`);
    const ok = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`no /healthz:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = started.pid;
  if (pid === undefined) throw new Error('no pid');
  /** Sends `signal` to the group as soon as the output matches `pattern` (say, the stop has begun). */
  const signalWhen = (pattern: RegExp, signal: NodeJS.Signals) => {
    const onData = () => {
      if (!pattern.test(output)) return;
      started.stdout?.off('data', onData);
      process.kill(-pid, signal);
    };
    started.stdout?.on('data', onData);
  };
  return { pid, dataDir: join(dir, 'pg'), output: () => output, exited, signalWhen };
}

describe('frontrow start, stopped from a terminal', () => {
  it('Ctrl-C (SIGINT to the process group) stops in order: one "stopped" line, no warning or stack trace, exit 0, no postgres left', {
    timeout: 120_000,
  }, async () => {
    const start = await startInGroup();
    expect(await processesMentioning(start.dataDir)).not.toEqual([]);
    process.kill(-start.pid, 'SIGINT');
    expect(await start.exited).toBe(0);
    const lines = start.output().trim().split('\n');
    expect(lines.at(-1)).toBe('stopped');
    expect(start.output()).not.toMatch(/"level":(40|50|60)|warn|error|ELIFECYCLE|\n\s+at /i);
    expect(await processesMentioning(start.dataDir)).toEqual([]);
  });

  it('`pnpm start` and Ctrl-C: pnpm exits 0 with the last line `stopped`, no ELIFECYCLE, warning or stack trace, no postgres left', {
    timeout: 120_000,
  }, async () => {
    const start = await startInGroup([], { viaPnpm: true });
    expect(await processesMentioning(start.dataDir)).not.toEqual([]);
    process.kill(-start.pid, 'SIGINT');
    expect(await start.exited).toBe(0);
    const lines = start.output().trim().split('\n');
    expect(lines.at(-1)).toBe('stopped');
    expect(lines.filter((line) => line === 'stopped')).toHaveLength(1);
    expect(start.output()).not.toMatch(/"level":(40|50|60)|warn|error|ELIFECYCLE|\n\s+at /i);
    expect(await processesMentioning(start.dataDir)).toEqual([]);
  });

  it('a second Ctrl-C during the stop is ignored: `pnpm start` still exits 0 after `stopped`, no postgres left', {
    timeout: 120_000,
  }, async () => {
    const start = await startInGroup([], { viaPnpm: true });
    start.signalWhen(/stopping/, 'SIGINT'); // node gets it from the group, and pnpm sends it a SIGTERM
    process.kill(-start.pid, 'SIGINT');
    expect(await start.exited).toBe(0);
    expect(start.output().trim().split('\n').at(-1)).toBe('stopped');
    expect(start.output()).not.toMatch(/"level":(40|50|60)|warn|error|ELIFECYCLE|\n\s+at /i);
    expect(await processesMentioning(start.dataDir)).toEqual([]);
  });

  it('SIGQUIT during the stop exits at once with 1, and the embedded PostgreSQL still shuts down', { timeout: 120_000 }, async () => {
    const start = await startInGroup();
    start.signalWhen(/stopping/, 'SIGQUIT');
    process.kill(-start.pid, 'SIGINT');
    expect(await start.exited).toBe(1);
    expect(start.output()).not.toMatch(/^stopped$/m);
    for (const deadline = Date.now() + 15_000; (await processesMentioning(start.dataDir)).length > 0; ) {
      if (Date.now() > deadline) throw new Error(`postgres left running on ${start.dataDir}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('--json prints the start-up summary and the stop as one JSON line each', { timeout: 120_000 }, async () => {
    const start = await startInGroup(['--json']);
    process.kill(-start.pid, 'SIGTERM');
    expect(await start.exited).toBe(0);
    const events = start
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event?: string; url?: string; seeded?: { concertId: string } });
    expect(events[0]).toMatchObject({ event: 'started', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(events[0]?.seeded?.concertId).toMatch(/^\d+$/);
    expect(events.at(-1)).toEqual({ event: 'stopped' });
  });
});
