import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { admitQueue, createConcert, createTokenSigner, enterQueue } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { Concert } from '@frontrow/db';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { cliMain as main, runCli } from './run-cli.ts';

const tokens = createTokenSigner('cli-queue-test-secret-0123456789abcdefgh');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => db?.drop());

const frontrow = (...args: string[]) => runCli(db.url, ...args);

async function concertWithLine(options: { maxActive: number; waiting: number }): Promise<string> {
  const { concertId } = await createConcert(testDeps(db.orm), {
    title: 'Q',
    venue: 'V',
    dates: ['2030-06-01'],
    maxActive: options.maxActive,
  });
  await enterMany(concertId, options.maxActive + options.waiting);
  await admitQueue(testDeps(db.orm), { concertId });
  return concertId;
}

async function enterMany(concertId: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await enterQueue({ ...testDeps(db.orm), tokens }, { concertId, userId: crypto.randomUUID() });
}

describe('frontrow queue', () => {
  it('status shows waiting, active and admitted per minute of a concert', async () => {
    const concertId = await concertWithLine({ maxActive: 2, waiting: 3 });
    const json = await frontrow('queue', 'status', '--concert', concertId, '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({ concertId, waiting: 3, active: 2, maxActive: 2, admittedLastMinute: 2 });

    const plain = await frontrow('queue', 'status', '--concert', concertId);
    expect(plain.stdout).toContain('waiting 3');
    expect(plain.stdout).toContain('active 2/2');
    expect(plain.stdout).toContain('admitted 2/min');
  });

  it('pause and resume stop and restart admission; status says PAUSED; concert close ends the waiting and refuses entries', async () => {
    const concertId = await concertWithLine({ maxActive: 1, waiting: 2 });
    expect(JSON.parse((await frontrow('queue', 'pause', '--concert', concertId, '--json')).stdout)).toEqual({ concertId, paused: true });
    expect((await frontrow('queue', 'status', '--concert', concertId)).stdout).toContain('PAUSED');
    expect(JSON.parse((await frontrow('queue', 'status', '--concert', concertId, '--json')).stdout)).toMatchObject({ paused: true });
    const resumed = await frontrow('queue', 'resume', '--concert', concertId);
    expect(resumed).toMatchObject({ code: 0, stdout: `concert ${concertId}: admission running\n` });

    const closed = await frontrow('concert', 'close', '--concert', concertId, '--json');
    expect(JSON.parse(closed.stdout)).toMatchObject({ concertId, expired: 2 });
    expect(JSON.parse((await frontrow('queue', 'status', '--concert', concertId, '--json')).stdout)).toMatchObject({
      waiting: 0,
      salesClosedAt: expect.any(String),
    });
    const unknown = await frontrow('queue', 'pause', '--concert', '987654');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('error:');
  });

  it('concert create --opens-at makes a pre-queue that queue status shows; queue config --opens-at moves it; a bad time is one error line', async () => {
    const created = await frontrow(
      'concert',
      'create',
      '--title',
      'T',
      '--venue',
      'V',
      '--dates',
      '2030-06-01',
      '--opens-at',
      '2030-01-01T10:00:00Z',
      '--json',
    );
    const { concertId } = JSON.parse(created.stdout) as { concertId: string };
    await enterMany(concertId, 2);
    expect((await frontrow('queue', 'status', '--concert', concertId)).stdout).toContain('PRE-QUEUE 2 until 2030-01-01T10:00:00.000Z');
    const moved = await frontrow('queue', 'config', '--concert', concertId, '--opens-at', '2030-01-02T10:00:00+09:00', '--json');
    expect(JSON.parse(moved.stdout)).toMatchObject({ salesOpenAt: '2030-01-02T01:00:00.000Z' });
    const bad = await frontrow('queue', 'config', '--concert', concertId, '--opens-at', 'tomorrow');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: salesOpenAt: /);
  });

  it('status --watch refreshes every second until Ctrl-C, then exits 0', async () => {
    const concertId = await concertWithLine({ maxActive: 1, waiting: 1 });
    const child = spawn(process.execPath, [main, 'queue', 'status', '--concert', concertId, '--watch', '--json'], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url },
    });
    const lines: { waiting: number }[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const line of complete) if (line.trim()) lines.push(JSON.parse(line));
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = async (done: () => boolean) => {
      for (const deadline = Date.now() + 15_000; !done() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
      expect(done()).toBe(true);
    };
    try {
      await until(() => lines.length >= 1);
      expect(lines[0]?.waiting).toBe(1);
      await enterMany(concertId, 2);
      await until(() => lines.some((l) => l.waiting === 3));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('config sets capacity and admission time, and shows them with neither option', async () => {
    const concertId = await concertWithLine({ maxActive: 1, waiting: 0 });
    const set = await frontrow('queue', 'config', '--concert', concertId, '--max-active', '7', '--active-ttl', '45', '--json');
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(set.stdout)).toEqual({
      concertId,
      maxActive: 7,
      activeTtlSeconds: 45,
      admitPerMinute: null,
      arrivalSeconds: 60,
      salesOpenAt: null,
    });
    const stored = await db.orm.em.fork().findOneOrFail(Concert, concertId);
    expect([stored.maxActive, stored.activeTtlSeconds]).toEqual([7, 45]);

    const shown = await frontrow('queue', 'config', '--concert', concertId);
    expect(shown.stdout.trim()).toBe(`concert ${concertId}: max active 7, active ttl 45 s, admit per minute no cap, arrival 60 s`);

    const capped = await frontrow('queue', 'config', '--concert', concertId, '--admit-per-minute', '30', '--json');
    expect(JSON.parse(capped.stdout)).toMatchObject({ admitPerMinute: 30 });
    expect((await frontrow('queue', 'status', '--concert', concertId)).stdout).toContain('(cap 30/min)');
    const uncapped = await frontrow(
      'queue',
      'config',
      '--concert',
      concertId,
      '--admit-per-minute',
      '0',
      '--arrival-seconds',
      '15',
      '--json',
    );
    expect(JSON.parse(uncapped.stdout)).toMatchObject({ admitPerMinute: null, arrivalSeconds: 15 });
  });

  it.each([
    [['queue', 'status', '--concert', '999999'], /^error: concert 999999 does not exist$/],
    [['queue', 'status', '--concert', '999999', '--watch'], /^error: concert 999999 does not exist$/],
    [['queue', 'config', '--concert', '999999', '--max-active', '5'], /^error: concert 999999 does not exist$/],
    [['queue', 'status', '--concert', 'abc'], /^error: .*concert id/],
    [['queue', 'config', '--concert', '1', '--max-active', '0'], /^error: maxActive: /],
    [['queue', 'config', '--concert', '1', '--admit-per-minute', '-1'], /^error: admitPerMinute: /],
  ])('%j fails with one clear line and exit code 1', async (args, message) => {
    const run = await frontrow(...args);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr.trim()).toMatch(message);
  });
});
