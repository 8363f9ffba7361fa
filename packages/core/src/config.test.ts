import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';
import { resolveTokenSecret } from './token-secret.ts';

describe('configuration', () => {
  it('defaults every setting as API.md says', () => {
    const config = parseConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.TOKEN_SECRET).toBeUndefined();
    expect(config).toMatchObject({
      PORT: 3000,
      HOLD_TTL_SECONDS: 300,
      QUEUE_MAX_ACTIVE: 100,
      QUEUE_ACTIVE_TTL_SECONDS: 600,
      WATCH_MAX_STREAMS: 10_000,
      QUEUE_ARRIVAL_SECONDS: 60,
      QUEUE_TOKEN_RETENTION_SECONDS: 86_400,
      QUEUE_ENTER_BATCH_MS: 2,
      QUEUE_ENTER_BATCH_MAX: 100,
    });
  });

  it('coerces numbers from strings and treats an empty variable as unset', () => {
    const config = parseConfig({ PORT: '8080', QUEUE_MAX_ACTIVE: '5', HOLD_TTL_SECONDS: '', QUEUE_ENTER_RATE_LIMIT: '0' });
    expect(config.PORT).toBe(8080);
    expect(config.QUEUE_MAX_ACTIVE).toBe(5);
    expect(config.HOLD_TTL_SECONDS).toBe(300);
    expect(config.QUEUE_ENTER_RATE_LIMIT).toBe(0);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['HOLD_TTL_SECONDS', '0'],
    ['HOLD_TTL_SECONDS', '1.5'],
    ['QUEUE_MAX_ACTIVE', '-1'],
    ['QUEUE_ACTIVE_TTL_SECONDS', 'abc'],
    ['QUEUE_ARRIVAL_SECONDS', '0'],
    ['QUEUE_ENTER_RATE_LIMIT', '-5'],
    ['WATCH_MAX_STREAMS', '0'],
    // shorter than an hour would cut payment replays (and the admission-rate window) short
    ['QUEUE_TOKEN_RETENTION_SECONDS', '3599'],
    ['QUEUE_TOKEN_RETENTION_SECONDS', '31536001'],
    ['QUEUE_ENTER_BATCH_MS', '-1'],
    ['QUEUE_ENTER_BATCH_MS', '1001'],
    ['QUEUE_ENTER_BATCH_MAX', '0'],
    ['QUEUE_ENTER_BATCH_MAX', '1001'],
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['TOKEN_SECRET', 'short'],
    ['LOG_LEVEL', 'loud'],
    ['TRPC_MAX_BATCH', '0'],
    ['TRUST_PROXY', 'proxy.example'],
    ['TRUST_PROXY', '10.0.0.1,not-an-address'],
  ])('an invalid %s (%s) stops with an error naming the variable', (name, value) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name}: `));
  });

  it('reads TRUST_PROXY as a list of addresses and ranges, and TRPC_MAX_BATCH as a count (default 10)', () => {
    expect(parseConfig({}).TRPC_MAX_BATCH).toBe(10);
    expect(parseConfig({}).TRUST_PROXY).toBeUndefined();
    expect(parseConfig({ TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,::1', TRPC_MAX_BATCH: '4' })).toMatchObject({
      TRUST_PROXY: ['10.0.0.5', '10.1.0.0/16', '::1'],
      TRPC_MAX_BATCH: 4,
    });
  });

  it('names every bad variable at once', () => {
    expect(() => parseConfig({ PORT: 'x', QUEUE_MAX_ACTIVE: '0' })).toThrow(/PORT: .*; QUEUE_MAX_ACTIVE: /);
  });

  it('never echoes a secret or a database URL back in the message', () => {
    expect(() => parseConfig({ TOKEN_SECRET: 'hunter2' })).toThrow(/^(?!.*hunter2)/);
    expect(() => parseConfig({ DATABASE_URL: 'mysql://user:pw@host/db' })).toThrow(/^(?!.*pw@host)/);
  });
});

describe('token secret', () => {
  it('is required when DATABASE_URL is set, since every API instance must share it', async () => {
    await expect(resolveTokenSecret({ DATABASE_URL: 'postgres://db/x', TOKEN_SECRET: undefined, DATA_DIR: '.data' })).rejects.toThrow(
      /TOKEN_SECRET: required when DATABASE_URL is set/,
    );
  });

  it('is generated once and kept under DATA_DIR on the embedded database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'frontrow-secret-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const first = await resolveTokenSecret({ DATABASE_URL: undefined, TOKEN_SECRET: undefined, DATA_DIR: dir });
    const second = await resolveTokenSecret({ DATABASE_URL: undefined, TOKEN_SECRET: undefined, DATA_DIR: dir });
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(second).toBe(first);
    expect((await readFile(join(dir, 'token-secret'), 'utf8')).trim()).toBe(first);
  });

  it('given explicitly, wins', async () => {
    const secret = 'x'.repeat(40);
    expect(await resolveTokenSecret({ DATABASE_URL: 'postgres://db/x', TOKEN_SECRET: secret, DATA_DIR: '.data' })).toBe(secret);
  });
});
