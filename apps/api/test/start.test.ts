/**
 * `pnpm start` (`frontrow start`) on a machine with no DATABASE_URL: an embedded PostgreSQL under DATA_DIR,
 * migrations, a demo concert, API + worker in one process; SIGTERM stops all of it, the database included.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '@frontrow/db';
import { processesMentioning } from '@frontrow/db/testing';
import { type Spawned, cliMain, get, spawnNode, stopSpawned, tempDir, waitForReady } from './processes.ts';

let dir: string | undefined;
let start: Spawned | undefined;

afterAll(async () => {
  await stopSpawned();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('pnpm start with no DATABASE_URL', () => {
  it('serves the demo concert from an embedded database, and SIGTERM exits 0 leaving no postgres of that data dir', async () => {
    dir = await tempDir('frontrow-start-');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    start = spawnNode(cliMain, { DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, ['start']);
    await waitForReady(base, start, 60_000);

    const response = await get(`${base}/trpc/concerts.list`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { data: { title: string; dates: string[] }[] } };
    expect(body.result.data).toHaveLength(1);
    const [demo] = body.result.data;
    const today = new Date().toISOString().slice(0, 10);
    expect(demo?.dates.length).toBeGreaterThan(0);
    expect(demo?.dates.every((date) => date > today)).toBe(true);
    expect(start.output()).toContain(`http://127.0.0.1:${port}`);
    expect(start.output()).toContain('curl');
    // the web app at / (built by `scripts/setup.sh`, or by this start when it was missing)
    const page = await get(`${base}/`);
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect(await page.text()).toContain('<title>FrontRow: tickets</title>');

    const dataDir = join(dir, 'pg');
    const postmaster = Number.parseInt((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
    expect(isAlive(postmaster)).toBe(true);

    expect(await start.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(isAlive(postmaster)).toBe(false);
    expect(await processesMentioning(dataDir)).toEqual([]);
  });
});
