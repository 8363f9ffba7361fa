/**
 * `pnpm start` stopped from a terminal: Ctrl-C sends SIGINT to the whole foreground process group, the
 * embedded PostgreSQL included. The server runs in a session of its own, so the CLI stops the API, the
 * worker and the pools first, then the server, says `stopped` and exits 0 (pnpm then prints no ELIFECYCLE).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '@frontrow/db';
import { cliMain } from './run-cli.ts';

let dir: string | undefined;
let child: ChildProcess | undefined;

afterEach(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `frontrow start` in a process group of its own, as a shell starts a foreground job. */
async function startInGroup(args: string[] = []) {
  dir = await mkdtemp(join(tmpdir(), 'frontrow-start-'));
  await chmod(dir, 0o755); // the embedded server runs as `postgres` under root
  const port = await freePort();
  const started = spawn(process.execPath, [cliMain, 'start', ...args], {
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
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
  return { pid, dataDir: join(dir, 'pg'), output: () => output, exited };
}

/** Processes whose command line names `path` (the postmaster runs as `postgres -D <dataDir> …`). */
async function processesMentioning(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(path)) pids.push(Number(entry));
  }
  return pids;
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
