/**
 * A connect storm (thousands of `queue.watch` clients reconnecting at once, after a deploy) waits in the
 * kernel's accept queue of the API's listening socket: with Node's default backlog of 511, the kernel
 * resets the rest (issue 13's probe: "Possible SYN flooding", 2,725 of 10,000 connects reset). The API
 * process asks for 8192, which the kernel caps at net.core.somaxconn; `ss` reports a listening socket's
 * backlog as its Send-Q.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { startApiProcess, stopSpawned } from './processes.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
});
afterAll(async () => {
  await stopSpawned();
  await db?.drop();
});

describe('the API process listening', () => {
  it('asks for a listen backlog above Node default 511 (up to the kernel cap)', async () => {
    const { port } = await startApiProcess(db.url, { LOG_LEVEL: 'warn' });
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());
    // `State Recv-Q Send-Q Local Peer`: Send-Q of a listening socket is its backlog
    const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
    const backlog = Number(line.split(/\s+/)[2]);
    expect(backlog).toBe(Math.min(8192, somaxconn));
  });
});
