/**
 * The README's `pnpm test` on a machine with no TEST_DATABASE_URL: the global setup, loaded by vitest's
 * own module runner (not a test worker), must start a PostgreSQL (testcontainers, else the embedded one),
 * run the tests on it and leave nothing behind. Runs a real `vitest run` of one small file as a child.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { processesMentioning } from '@frontrow/db/testing';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const vitestCli = join(repoRoot, 'node_modules/vitest/vitest.mjs');

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; pid: number; output: string }> {
  const child = spawn(process.execPath, [vitestCli, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start vitest');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  return { code, pid, output };
}

describe('pnpm test with no TEST_DATABASE_URL', () => {
  it('the global setup starts a PostgreSQL of its own, the tests pass on it, and it is gone afterwards', { timeout: 120_000 }, async () => {
    // only what a newcomer's shell would have: no TEST_DATABASE_URL, no DATABASE_URL
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NO_COLOR: '1', TMPDIR: tmpdir() };
    if (process.env.HOME) env.HOME = process.env.HOME;
    const { code, pid, output } = await run(['run', '--project', 'integration', 'packages/db/src/schema.int.test.ts'], env);

    expect(output).toMatch(/\[test-db\] PostgreSQL from (embedded|testcontainers)/);
    expect(output).toMatch(/Test Files\s+1 passed \(1\)/);
    expect(code, output).toBe(0);
    // the embedded fallback's data directory (named after the vitest process) and its server are gone
    const prefix = `frontrow-test-pg-${pid}-`;
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(prefix))).toEqual([]);
    expect(await processesMentioning(join(tmpdir(), prefix))).toEqual([]);
  });
});
