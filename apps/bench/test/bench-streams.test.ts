/**
 * `frontrow bench --scenario streams` end to end with small numbers: the real CLI process against an API
 * built in this process over a test database (no worker: the line does not move, which the report shows
 * as it is). The report must carry every figure, count the streams the API refused, and leave nothing of
 * its concert behind. No timing assertions: the figures are what the bench reports, not what tests judge.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import { AdmissionMemory, WatchRegistry, createIdentityVerifier, createTokenSigner, noJobs, systemClock } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { Concert, freePort } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import type { StreamsReport } from '../src/scenarios/streams.ts';

const main = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));
const streamsMain = fileURLToPath(new URL('../../api/src/streams/main.ts', import.meta.url));
const TOKEN_SECRET = 'bench-streams-test-secret-0123456789abcdefghij';
const AUTH_SECRET = 'bench-streams-test-auth-dev-secret-0123456789abcdef';
/** The API's WATCH_MAX_STREAMS here: the bench asks for more, and must count the refusals. */
const MAX_STREAMS = 12;

let db: TestDatabase;
let memory: AdmissionMemory;
let app: Awaited<ReturnType<typeof buildServer>>;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 8 });
  memory = new AdmissionMemory({ em: db.orm.em, databaseUrl: db.url });
  app = await buildServer({
    orm: db.orm,
    inner: {
      em: db.orm.em,
      clock: systemClock,
      jobs: noJobs,
      settings: testSettings,
      tokens: createTokenSigner(TOKEN_SECRET),
      identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
      admissions: memory,
      watches: new WatchRegistry(MAX_STREAMS),
    },
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await memory?.close();
  await db?.drop();
});

async function bench(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, 'bench', '--url', url, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, TOKEN_SECRET, AUTH_DEV_SECRET: AUTH_SECRET },
      maxBuffer: 10 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('frontrow bench --scenario streams', () => {
  it("opens the streams, reports the API's memory, the database's rates and queue.status beside them, and counts refusals", {
    timeout: 120_000,
  }, async () => {
    const run = await bench('--scenario', 'streams', '--streams', '20', '--duration', '1', '--status-clients', '2', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as StreamsReport;
    expect(report).toMatchObject({ streams: 20, opened: MAX_STREAMS, refused: 20 - MAX_STREAMS, reset: 0 });
    expect(report.phases.map((p) => p.name)).toEqual([
      'no stream, line still',
      'no stream, line moving',
      `open ${MAX_STREAMS}, line still`,
      `open ${MAX_STREAMS}, line moving`,
      'closed, line still',
    ]);
    for (const phase of report.phases) {
      // this process's RSS, read from the API's /metrics
      expect(phase.rssMb).toBeGreaterThan(0);
      expect(phase.transactionsPerSecond).toEqual(expect.any(Number));
      expect(phase.tokenReadsPerSecond).toEqual(expect.any(Number));
    }
    for (const index of [0, 2, 4]) {
      expect(report.phases[index]?.status).toMatchObject({ rps: expect.any(Number), p99: expect.any(Number), errors: 0 });
      expect(report.phases[index]?.status?.rps).toBeGreaterThan(0);
    }
    expect(report.phases[3]?.eventsPerSecond).toEqual(expect.any(Number));
    expect(report.statusP99Ratio).toEqual(expect.any(Number));
    expect(report.load.start).toMatch(/^\d/);
    // the bench's concert and its tokens are gone
    expect(await db.orm.em.fork().count(Concert, { id: report.concertId })).toBe(0);
  });

  it('prints the figures as a table, and refuses more than one API and counts past their bounds', { timeout: 120_000 }, async () => {
    const run = await bench('--scenario', 'streams', '--streams', '4', '--duration', '1', '--status-clients', '1');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/opened 4, refused 0 \(STREAM_LIMIT\), reset 0/);
    expect(run.stdout).toMatch(/open 4, line still +\d+ MB/);
    expect(run.stdout).toMatch(/queue\.status p99 with the streams open \/ without: \d/);
    const two = await bench('--scenario', 'streams', '--url', `${url},${url}`);
    expect(two.code).not.toBe(0);
    expect(two.stderr).toContain('one API process');
    // every stream and client is a socket of the bench: both counts are bounded
    const many = await bench('--scenario', 'streams', '--streams', '100001');
    expect(many.code).not.toBe(0);
    expect(many.stderr).toContain('--streams: at most 100000');
    const clients = await bench('--scenario', 'streams', '--status-clients', '1001');
    expect(clients.code).not.toBe(0);
    expect(clients.stderr).toContain('--status-clients: at most 1000');
  });

  it('with --streams-url, opens the streams on a streams process and reports its memory, queue.status staying on the API', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const streams = spawn(process.execPath, [streamsMain], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: db.url,
        TOKEN_SECRET,
        PORT: String(port),
        HOST: '127.0.0.1',
        WATCH_MAX_STREAMS: '5',
        DB_POOL_SIZE: '2',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => streams.once('exit', resolve));
    const streamsUrl = `http://127.0.0.1:${port}`;
    try {
      // ready when its /readyz says so (the process needs a moment to start)
      for (let ready = false; !ready; ) {
        ready = await fetch(`${streamsUrl}/readyz`).then(
          (res) => res.ok,
          () => false,
        );
        if (streams.exitCode !== null) throw new Error('the streams process exited');
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const run = await bench(
        '--scenario',
        'streams',
        '--streams-url',
        streamsUrl,
        '--streams',
        '8',
        '--duration',
        '1',
        '--status-clients',
        '1',
        '--json',
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as StreamsReport;
      // the streams process's cap (5), not the API's (MAX_STREAMS): the streams went there
      expect(report).toMatchObject({ url, streamsUrl, streams: 8, opened: 5, refused: 3, reset: 0 });
      for (const phase of report.phases) expect(phase.rssMb).toBeGreaterThan(0);
      expect(report.phases[0]?.status?.rps).toBeGreaterThan(0);
      const two = await bench('--scenario', 'streams', '--streams-url', `${streamsUrl},${streamsUrl}`);
      expect(two.code).not.toBe(0);
      expect(two.stderr).toContain('--streams-url: one streams process');
    } finally {
      streams.kill('SIGTERM');
      await exited;
    }
  });
});
