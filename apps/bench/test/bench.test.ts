/**
 * `frontrow bench` end to end: the real CLI process against an API server and a worker built in this
 * process over a test database. Small numbers, every scenario; the report must carry every figure and the
 * invariant check must pass. No timing assertions: speed is what the bench reports, not what tests judge.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import { createIdentityVerifier, createTokenSigner, type DomainSettings, systemClock } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { Concert } from '@frontrow/db';
import { bossJobScheduler, type PgBoss, startBoss } from '@frontrow/jobs';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { allJobs, buildWorker, type Worker } from '@frontrow/worker';
import type { BenchReport } from '../src/report.ts';

const main = fileURLToPath(new URL('../../cli/src/main.ts', import.meta.url));
// holds lapse fast, so that the flow's walk-aways are freed within the run
const settings: DomainSettings = { ...testSettings, holdTtlSeconds: 4 };
const AUTH_SECRET = 'bench-test-auth-dev-secret-0123456789abcdef';
const quiet = { info: () => {}, error: () => {} };

let db: TestDatabase;
let apiBoss: PgBoss;
let workerBoss: PgBoss;
let app: Awaited<ReturnType<typeof buildServer>>;
let worker: Worker;
let url: string;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 12 });
  apiBoss = await startBoss({ databaseUrl: db.url, listen: false, poolSize: 2 });
  app = await buildServer({
    orm: db.orm,
    inner: {
      em: db.orm.em,
      clock: systemClock,
      jobs: bossJobScheduler(apiBoss),
      settings,
      tokens: createTokenSigner('bench-test-secret-0123456789abcdefghijkl'),
      identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  url = `http://127.0.0.1:${address.port}`;
  workerBoss = await startBoss({ databaseUrl: db.url, listen: true, poolSize: 3 });
  worker = buildWorker(
    { em: db.orm.em, boss: workerBoss, clock: systemClock, jobs: bossJobScheduler(workerBoss), settings, log: quiet, sweepEveryMs: 1_000 },
    allJobs,
  );
  await worker.start();
  dir = await mkdtemp(join(tmpdir(), 'frontrow-bench-'));
});
afterAll(async () => {
  await app?.close();
  await worker?.stop();
  await apiBoss?.stop({ graceful: false });
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function bench(target: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [main, 'bench', '--url', target, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, AUTH_DEV_SECRET: AUTH_SECRET },
      maxBuffer: 10 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function concertsLeft(ids: string[]): Promise<number> {
  return await db.orm.em.fork().count(Concert, { id: { $in: ids } });
}

async function benchConcerts(): Promise<string[]> {
  return (await db.orm.em.fork().find(Concert, { title: { $like: 'bench:%' } })).map((c) => c.id);
}

async function hasTokens(concertIds: string[]): Promise<boolean> {
  const [row] = await db.orm.em
    .getConnection()
    .execute<{ n: string }[]>('select count(*) as n from queue_token where concert_id = any(?::bigint[])', [`{${concertIds.join(',')}}`]);
  return Number(row?.n ?? 0) > 0;
}

const figures = expect.objectContaining({
  count: expect.any(Number),
  rps: expect.any(Number),
  ratio: expect.any(Number),
  p50: expect.any(Number),
  p95: expect.any(Number),
  p99: expect.any(Number),
  errors: expect.any(Object),
});

describe('frontrow bench', () => {
  it('plays every scenario against a live server and reports every figure, with the invariant check passed', {
    timeout: 240_000,
  }, async () => {
    const file = join(dir, 'bench.json');
    const run = await bench(
      url,
      ...['--scenario', 'all', '--users', '150', '--concurrency', '8', '--duration', '1', '--waiting', '200,400'],
      ...['--healthz', '1', '--lapse', '2', '--poll-interval', '50', '--expiry-wait', '60', '--json', file],
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;

    expect(report.healthz.rps).toBeGreaterThan(0);
    const phase = (name: string) => report.phases.find((p) => p.name === name);
    const procedure = (name: string, path: string) => phase(name)?.procedures.find((f) => f.procedure === path);
    expect(procedure('enter', 'queue.enter')).toEqual(figures);
    expect(procedure('poll 200 waiting', 'queue.status')).toEqual(figures);
    expect(procedure('poll 400 waiting', 'queue.status')).toEqual(figures);
    expect(report.poll?.map((p) => p.waiting)).toEqual([200, 400]);
    // the storm is all rejections: the performance is sold out
    const storm = procedure('hold-storm', 'reservations.hold');
    expect(storm).toEqual(figures);
    expect(storm?.errors).toEqual({ SEAT_UNAVAILABLE: storm?.count });
    expect(procedure('pay', 'payments.pay')).toEqual(figures);
    for (const path of [
      'queue.status',
      'concerts.availableDates',
      'concerts.seats',
      'reservations.hold',
      'wallet.charge',
      'payments.pay',
      'queue.leave',
    ]) {
      expect(procedure('flow: shop', path), path).toEqual(figures);
    }

    const flow = report.flow;
    expect(flow?.outcomes.bought).toBeGreaterThan(0);
    expect(flow?.outcomes.soldOut).toBeGreaterThan(0);
    expect(flow?.sellOutSeconds).toEqual(expect.any(Number));
    expect(flow?.admissionLatencyMs).toMatchObject({ count: expect.any(Number), p50: expect.any(Number), p99: expect.any(Number) });
    expect(flow?.waitEstimate).toMatchObject({ count: expect.any(Number), medianErrorPercent: expect.any(Number) });
    expect(flow?.holdExpiryLagMs).toMatchObject({ count: 2, notFreed: 0, p99: expect.any(Number) });
    expect(report.activeMax.every((s) => s.samples > 0 && s.max <= s.maxActive)).toBe(true);
    expect(report.targets.length).toBeGreaterThan(0);
    // the API's database round trips, per phase: an entry costs at least one
    expect(phase('enter')?.database).toMatchObject({ roundTrips: expect.any(Number), admissionReads: expect.any(Number) });
    expect(phase('enter')?.database?.perCall).toBeGreaterThanOrEqual(1);
    expect(report.phases.every((p) => p.database !== null)).toBe(true);
    expect(run.stdout).toContain('database round trips of the API processes per call');

    expect(report.invariants.checks.length).toBeGreaterThanOrEqual(8);
    expect(report.invariants).toMatchObject({ passed: true });
    // the same figures on stdout, as tables
    expect(run.stdout).toContain('invariant check: PASSED');
    expect(run.stdout).toMatch(/queue\.status\s+\d+/);
    // the concerts it made are gone with the run
    expect(report.concerts.length).toBeGreaterThan(0);
    expect(await concertsLeft(report.concerts)).toBe(0);
  });

  it('no-show: the same crowd before and after the arrival window; after wastes fewer slot-seconds, every real user admitted', {
    timeout: 120_000,
  }, async () => {
    // 6 users, 3 of them no-shows (places 2, 4, 5); 2 slots. Before, each no-show holds its slot until it
    // lapses: at least the 8 s active time. After, it is freed once the 2 s window ran out, at the next
    // one-second admission round: far below 8 s each, whatever the machine's load
    const file = join(dir, 'no-show.json');
    const run = await bench(
      url,
      ...['--scenario', 'no-show', '--users', '6', '--no-show', '0.5', '--max-active', '2', '--active-ttl', '8', '--arrival', '2'],
      ...['--shop', '200', '--poll-interval', '50', '--healthz', '0', '--json', file],
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
    const noShow = report.noShow;
    expect(noShow).toMatchObject({ users: 6, noShows: 3, share: 0.5, maxActive: 2, activeSeconds: 8, arrivalSeconds: 2 });
    const [before, after] = noShow?.runs ?? [];
    expect(before).toMatchObject({ name: 'before', arrivalSeconds: 8, noShows: 3, freedAsNoShow: 0, lapsed: 3 });
    expect(after).toMatchObject({ name: 'after', arrivalSeconds: 2, noShows: 3, freedAsNoShow: 3, lapsed: 0 });
    for (const r of [before, after]) {
      expect(r).toMatchObject({ realUsers: 3, realAdmitted: 3, realFreedAsNoShow: 0, totalSeconds: expect.any(Number) });
      expect(r?.realWaitMs).toMatchObject({ count: 3, p50: expect.any(Number), p95: expect.any(Number), max: expect.any(Number) });
      expect(r?.heldSeconds?.count).toBe(3);
    }
    // a lapse comes no earlier than the active time: every no-show of "before" held its slot that long
    expect(before?.heldSeconds?.p50).toBeGreaterThanOrEqual(8);
    expect(after?.wastedSlotSeconds).toBeLessThan(before?.wastedSlotSeconds ?? 0);
    expect(before?.wastedSlotSeconds).toBeGreaterThanOrEqual(24);
    expect(report.phases.map((p) => p.name)).toEqual(['no-show: before', 'no-show: after']);
    expect(report.activeMax).toHaveLength(2);
    expect(report.activeMax.every((s) => s.samples > 0 && s.max <= s.maxActive)).toBe(true);
    expect(report.invariants).toMatchObject({ passed: true });
    expect(report.invariants.checks.filter((c) => c.name.startsWith('no-show'))).toHaveLength(2);
    expect(run.stdout).toMatch(/no-show: 6 users, 3 never come back/);
    expect(await concertsLeft(report.concerts)).toBe(0);
  });

  it('no-show refuses a share outside [0, 1), a window not shorter than the active time, and --concert', { timeout: 60_000 }, async () => {
    const before = await benchConcerts();
    const share = await bench(url, '--scenario', 'no-show', '--no-show', '1', '--healthz', '0');
    expect(share.code).not.toBe(0);
    expect(share.stderr).toContain('expected a share from 0 to below 1');
    const window = await bench(url, '--scenario', 'no-show', '--arrival', '20', '--active-ttl', '20', '--healthz', '0');
    expect(window.code).not.toBe(0);
    expect(window.stderr).toContain('--arrival 20 must be shorter than --active-ttl 20');
    const concert = await bench(url, '--scenario', 'no-show', '--concert', '1', '--healthz', '0');
    expect(concert.code).not.toBe(0);
    expect(concert.stderr).toContain('the no-show scenario plays two concerts of its own');
    expect(await benchConcerts()).toEqual(before);
  });

  it('--json prints the report on stdout; the concerts the run made are removed after it, unless --keep', { timeout: 60_000 }, async () => {
    const short = ['--scenario', 'enter', '--duration', '1', '--healthz', '0', '--json'];
    const run = await bench(url, ...short);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report.invariants).toMatchObject({ passed: true });
    expect(report.concerts).toHaveLength(1);
    expect(await concertsLeft(report.concerts)).toBe(0);

    const kept = await bench(url, ...short, '--keep');
    expect(kept.code, kept.stderr).toBe(0);
    const keptReport = JSON.parse(kept.stdout) as BenchReport;
    expect(await concertsLeft(keptReport.concerts)).toBe(1);
  });

  it('Ctrl-C ends the run and removes the concerts it made', { timeout: 60_000 }, async () => {
    const before = await benchConcerts();
    const child = spawn(process.execPath, [main, 'bench', '--url', url, '--scenario', 'enter', '--duration', '120', '--healthz', '0'], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, AUTH_DEV_SECRET: AUTH_SECRET },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let made: string[] = [];
      for (const deadline = Date.now() + 30_000; made.length === 0 && Date.now() < deadline; ) {
        made = (await benchConcerts()).filter((id) => !before.includes(id));
        if (made.length === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(made).toHaveLength(1);
      // the run is under way: users are entering the line
      for (const deadline = Date.now() + 30_000; !(await hasTokens(made)) && Date.now() < deadline; )
        await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(stderr).toContain('interrupted');
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(await concertsLeft(made)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('plays the flow over the plain JSON wire across two API servers on one database, the invariants holding', {
    timeout: 120_000,
  }, async () => {
    const second = await buildServer({
      orm: db.orm,
      inner: {
        em: db.orm.em,
        clock: systemClock,
        jobs: bossJobScheduler(apiBoss),
        settings,
        tokens: createTokenSigner('bench-test-secret-0123456789abcdefghijkl'),
        identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
      },
    });
    await second.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = second.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const file = join(dir, 'wire.json');
      const run = await bench(
        `${url},http://127.0.0.1:${port}`,
        ...[
          '--scenario',
          'flow',
          '--client',
          'wire',
          '--users',
          '80',
          '--concurrency',
          '8',
          '--healthz',
          '1',
          '--lapse',
          '0',
          '--json',
          file,
        ],
      );
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
      expect(report.url.split(',')).toHaveLength(2);
      expect(report.phases.find((p) => p.name === 'flow: shop')?.procedures.find((f) => f.procedure === 'payments.pay')).toEqual(figures);
      expect(report.flow?.holdExpiryLagMs).toBeNull();
      expect(report.invariants).toMatchObject({ passed: true });
    } finally {
      await second.close();
    }
  });

  it('says clearly that the rate limit must be off, and fails, when the server limits queue.enter', { timeout: 60_000 }, async () => {
    const limited = await buildServer({
      orm: db.orm,
      inner: {
        em: db.orm.em,
        clock: systemClock,
        jobs: bossJobScheduler(apiBoss),
        settings,
        tokens: createTokenSigner('bench-test-secret-0123456789abcdefghijkl'),
        identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
      },
      queueEnterRateLimit: 5,
    });
    await limited.listen({ host: '127.0.0.1', port: 0 });
    try {
      const address = limited.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const { code, stderr } = await bench(`http://127.0.0.1:${port}`, '--scenario', 'enter', '--duration', '1', '--healthz', '0');
      expect(code).not.toBe(0);
      expect(stderr).toContain('QUEUE_ENTER_RATE_LIMIT=0');
    } finally {
      await limited.close();
    }
  });
});
