/** `frontrow auth token` and `frontrow wallet charge`: the real CLI process against a test database. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEV_ISSUER, createIdentityVerifier, readBalance, userIdOf } from '@frontrow/core';
import { createTestDatabase, type TestDatabase } from '@frontrow/db/testing';
import { type Run, cliMain } from './run-cli.ts';

const AUTH_SECRET = 'cli-test-auth-dev-secret-0123456789abcdef';
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'));
});
afterAll(async () => {
  await db?.drop();
});

async function frontrow(env: Record<string, string>, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliMain, ...args], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

type Row = { type: string; amount: string; reason: string | null };
async function ledgerOf(userId: string): Promise<Row[]> {
  return await db.orm.em
    .fork()
    .execute<Row[]>(
      `select t.type, t.amount, t.reason from wallet_transaction t join wallet w on w.id = t.wallet_id where w.user_id = ? order by t.id`,
      [userId],
    );
}

describe('frontrow auth token', () => {
  it('prints the token alone, one the API verifies as the user of (frontrow-dev, subject); --json says who', async () => {
    const plain = await frontrow({ AUTH_DEV_SECRET: AUTH_SECRET }, 'auth', 'token', '--user', 'alice@example.com');
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    const token = plain.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const identity = await createIdentityVerifier({ devSecret: AUTH_SECRET }).verify(token);
    expect(identity).toEqual({
      userId: userIdOf(DEV_ISSUER, 'alice@example.com'),
      issuer: DEV_ISSUER,
      subject: 'alice@example.com',
      operator: false,
    });
    // another secret does not accept it
    expect(await createIdentityVerifier({ devSecret: `${AUTH_SECRET}-other` }).verify(token)).toBeNull();

    const json = await frontrow({ AUTH_DEV_SECRET: AUTH_SECRET }, 'auth', 'token', '--user', 'bob', '--ttl', '60', '--json');
    const printed = JSON.parse(json.stdout) as { token: string; userId: string; subject: string; issuer: string; expiresAt: string };
    expect(printed).toMatchObject({ userId: userIdOf(DEV_ISSUER, 'bob'), subject: 'bob', issuer: DEV_ISSUER });
    expect(Date.parse(printed.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it("--operator mints an operator's token (the console's credential), with the role AUTH_OPERATOR_CLAIM/ROLE name", async () => {
    const plain = await frontrow({ AUTH_DEV_SECRET: AUTH_SECRET }, 'auth', 'token', '--user', 'ops', '--operator');
    expect(await createIdentityVerifier({ devSecret: AUTH_SECRET }).verify(plain.stdout.trim())).toMatchObject({
      subject: 'ops',
      operator: true,
    });
    // another claim configured: the token carries that one, and a verifier reading the default claim does not see the role
    const env = { AUTH_DEV_SECRET: AUTH_SECRET, AUTH_OPERATOR_CLAIM: 'realm_access.roles', AUTH_OPERATOR_ROLE: 'ops' };
    const custom = (await frontrow(env, 'auth', 'token', '--user', 'ops', '--operator', '--json')).stdout;
    const { token, operator } = JSON.parse(custom) as { token: string; operator: boolean };
    expect(operator).toBe(true);
    const keycloak = createIdentityVerifier({ devSecret: AUTH_SECRET, operator: { claim: 'realm_access.roles', role: 'ops' } });
    expect(await keycloak.verify(token)).toMatchObject({ operator: true });
    expect(await createIdentityVerifier({ devSecret: AUTH_SECRET }).verify(token)).toMatchObject({ operator: false });
  });

  it('refuses a ttl out of range, and with DATABASE_URL and no AUTH_DEV_SECRET says which variables to set', async () => {
    const ttl = await frontrow({ AUTH_DEV_SECRET: AUTH_SECRET }, 'auth', 'token', '--user', 'alice', '--ttl', '0');
    expect(ttl.code).not.toBe(0);
    const unset = await frontrow({}, 'auth', 'token', '--user', 'alice');
    expect(unset.code).toBe(1);
    expect(unset.stderr).toMatch(/^error: .*AUTH_JWKS_URL or AUTH_DEV_SECRET/);
    expect(unset.stdout).toBe('');
  });
});

describe('frontrow wallet charge', () => {
  it("tops up the subject's wallet as an ADJUSTMENT with its reason; past WALLET_MAX_BALANCE it is refused and moves nothing", async () => {
    const subject = `cli-${crypto.randomUUID()}`;
    const userId = userIdOf(DEV_ISSUER, subject);
    const env = { WALLET_MAX_BALANCE: '6000' };
    const charged = await frontrow(env, 'wallet', 'charge', '--user', subject, '--amount', '5000', '--reason', 'goodwill', '--json');
    expect(charged).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(charged.stdout)).toMatchObject({ userId, balance: 5000 });
    expect(await ledgerOf(userId)).toEqual([{ type: 'ADJUSTMENT', amount: '5000', reason: 'goodwill' }]);

    const over = await frontrow(env, 'wallet', 'charge', '--user', subject, '--amount', '1001');
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/^error: a wallet holds at most 6000 KRW/);
    expect(await ledgerOf(userId)).toHaveLength(1);
    expect(await readBalance({ em: db.orm.em }, { userId })).toEqual({ userId, balance: 5000 });

    // another issuer's subject is another user
    const other = await frontrow(env, 'wallet', 'charge', '--user', subject, '--amount', '1', '--issuer', 'https://login.example.com/');
    expect(other.code).toBe(0);
    expect(await ledgerOf(userIdOf('https://login.example.com/', subject))).toEqual([
      { type: 'ADJUSTMENT', amount: '1', reason: 'operator top-up' },
    ]);
  });
});
