/**
 * FrontRow acts only for the signed-in user (docs/API.md, "Identity"), proven black-box over HTTP: two API
 * processes and a worker on one database, trusting both an OIDC provider (whose JWKS this test serves and
 * rotates) and development tokens. Every call is a plain `fetch`, as an attacker would send it, and the
 * calls alternate between the two processes.
 */
import { type KeyObject, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createConcert, userIdOf } from '@frontrow/core';
import { testDeps } from '@frontrow/core/testing';
import { freePort } from '@frontrow/db';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';
import { signIn } from '../src/testing.ts';
import { TEST_AUTH_SECRET, TEST_TOKEN_SECRET, apiMain, spawnNode, stopSpawned, waitFor, waitForReady, workerMain } from './processes.ts';

const ISSUER = 'https://idp.frontrow.test/';
const AUDIENCE = 'frontrow-api';
const DATE = '2099-06-01';
const PRICE = 10_000;

// ---- the identity provider: keys, tokens signed with node:crypto, and a JWKS endpoint it can change ----

type Alg = 'RS256' | 'ES256' | 'EdDSA';
type SigningKey = { kid: string; alg: Alg; privateKey: KeyObject; publicJwk: Record<string, unknown> };

function providerKey(kid: string, alg: Alg): SigningKey {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { kid, alg, privateKey, publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A compact JWS of `claims`: signed with `key` (its kid and alg, unless `header` says otherwise), or unsigned. */
function jwt(claims: Record<string, unknown>, key: SigningKey | { hs256: string } | 'none', header: Record<string, unknown> = {}): string {
  const alg = key === 'none' ? 'none' : 'hs256' in key ? 'HS256' : key.alg;
  const kid = key !== 'none' && 'kid' in key ? { kid: key.kid } : {};
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT', ...kid, ...header }))}.${b64url(JSON.stringify(claims))}`;
  const data = Buffer.from(input);
  if (key === 'none') return `${input}.`;
  if ('hs256' in key) return `${input}.${b64url(createHmac('sha256', key.hs256).update(input).digest())}`;
  const signature =
    key.alg === 'RS256'
      ? sign('sha256', data, key.privateKey)
      : key.alg === 'ES256'
        ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, data, key.privateKey);
  return `${input}.${b64url(signature)}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** The provider's claims for `sub`, valid for an hour; `overrides` bend them. */
const claimsOf = (sub: string, overrides: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub,
  iat: nowSeconds(),
  exp: nowSeconds() + 3600,
  ...overrides,
});

type User = { userId: string; authorization: string };
/** A user signed in at the provider with `key`. */
const providerUser = (sub: string, key: SigningKey): User => ({
  userId: userIdOf(ISSUER, sub),
  authorization: `Bearer ${jwt(claimsOf(sub), key)}`,
});

const rsa1 = providerKey('rsa-1', 'RS256');
const ec1 = providerKey('ec-1', 'ES256');
const ed1 = providerKey('ed-1', 'EdDSA');
/** What the JWKS endpoint publishes now (the rotation test changes it). */
let published: SigningKey[] = [rsa1, ec1, ed1];
let jwksFetches = 0;
let jwksServer: Server;

// ---- the processes ----

let db: TestDatabase;
let concertId: string;
const baseUrls: string[] = [];

beforeAll(async () => {
  jwksServer = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((key) => key.publicJwk) }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const jwksPort = (jwksServer.address() as AddressInfo).port;

  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 2 });
  ({ concertId } = await createConcert(testDeps(db.orm), {
    title: 'Identity Live',
    venue: 'Hall',
    dates: [DATE],
    price: PRICE,
    maxActive: 10,
  }));
  const env = {
    DATABASE_URL: db.url,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`,
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    // an unknown kid refetches the keys at once: a rotation is picked up on its first token
    AUTH_JWKS_COOLDOWN_SECONDS: '0',
    AUTH_DEV_SECRET: TEST_AUTH_SECRET,
    HOST: '127.0.0.1',
    QUEUE_ENTER_RATE_LIMIT: '0',
    QUEUE_ACTIVE_TTL_SECONDS: '600',
    HOLD_TTL_SECONDS: '600',
    LOG_LEVEL: 'warn',
  };
  const apis = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    baseUrls.push(`http://127.0.0.1:${port}`);
    apis.push(spawnNode(apiMain, { ...env, PORT: String(port), DB_POOL_SIZE: '3' }));
  }
  spawnNode(workerMain, { ...env, DB_POOL_SIZE: '3' });
  await Promise.all(apis.map((api, i) => waitForReady(baseUrls[i] ?? '', api)));
}, 60_000);

afterAll(async () => {
  await stopSpawned();
  await new Promise((resolve) => jwksServer?.close(resolve));
  await db?.drop();
});

// ---- plain HTTP calls ----

type Answer<T> = { status: number; data: T; reason: string | undefined; body: unknown };
type CallHeaders = { auth?: string | undefined; queueToken?: string | undefined };

let turn = 0;
/** The next API process, in turn: consecutive calls go to different processes. */
const nextApi = () => baseUrls[turn++ % baseUrls.length] ?? '';

async function call<T = unknown>(
  kind: 'query' | 'mutation',
  path: string,
  headers: CallHeaders,
  input?: unknown,
  base = nextApi(),
): Promise<Answer<T>> {
  const sent: Record<string, string> = {};
  if (headers.auth !== undefined) sent.authorization = headers.auth;
  if (headers.queueToken !== undefined) sent['x-queue-token'] = headers.queueToken;
  const encoded = input === undefined ? '' : JSON.stringify(input);
  const res =
    kind === 'query'
      ? await fetch(`${base}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(encoded)}`}`, {
          headers: sent,
          signal: AbortSignal.timeout(5_000),
        })
      : await fetch(`${base}/trpc/${path}`, {
          method: 'POST',
          headers: { ...sent, 'content-type': 'application/json' },
          body: encoded,
          signal: AbortSignal.timeout(5_000),
        });
  const body = (await res.json()) as { result?: { data: T }; error?: { data?: { reason?: string } } };
  return { status: res.status, data: body.result?.data as T, reason: body.error?.data?.reason, body };
}

/** The answer's data; fails with the whole answer when the call was refused. */
async function ok<T>(answer: Promise<Answer<T>>): Promise<T> {
  const settled = await answer;
  expect(settled.status, JSON.stringify(settled.body)).toBe(200);
  return settled.data;
}

/** The same call sent to each API process: each answers `status` with `reason`. */
async function refusedOnBoth(
  status: number,
  reason: string,
  kind: 'query' | 'mutation',
  path: string,
  headers: CallHeaders,
  input?: unknown,
) {
  for (const base of baseUrls) {
    const answer = await call(kind, path, headers, input, base);
    expect({ path, base, status: answer.status, reason: answer.reason }, JSON.stringify(answer.body)).toEqual({
      path,
      base,
      status,
      reason,
    });
  }
}

type Ticket = { token: string; userId: string; status: string; position: number | null; activeUntil: string | null };
type Balance = { userId: string; balance: number };
type Charge = { userId: string; balance: number; transactionId: string };
type Held = { reservationId: string; totalPrice: number; seatNumbers: number[] };
type Mine = { reservationId: string; status: string; paidAt: string | null; paymentId: string | null; seatNumbers: number[] };

/** Enters the line and polls `queue.status` (by the queue token alone) until ACTIVE, alternating processes. */
async function enterAndWaitForAdmission(user: User): Promise<string> {
  const ticket = await ok(call<Ticket>('mutation', 'queue.enter', { auth: user.authorization }, { concertId }));
  expect(ticket.userId).toBe(user.userId);
  await waitFor(
    'admission',
    async () => (await ok(call<Ticket>('query', 'queue.status', { queueToken: ticket.token }))).status === 'ACTIVE',
    15_000,
  );
  return ticket.token;
}

describe('FrontRow acts only for the signed-in user (two API processes, plain HTTP)', () => {
  it('a stranger with the victim’s subject, user id or queue token cannot act as the victim', async () => {
    const VICTIM_SUB = 'auth0|victim-0001';
    const victim = providerUser(VICTIM_SUB, rsa1);
    const victimToken = await enterAndWaitForAdmission(victim);
    const victimAuth = { auth: victim.authorization };
    const victimOwn = { auth: victim.authorization, queueToken: victimToken };
    const charged = await ok(call<Charge>('mutation', 'wallet.charge', victimAuth, { amount: 3 * PRICE, idempotencyKey: 'victim-topup' }));
    expect(charged.userId).toBe(victim.userId);
    const held = await ok(call<Held>('mutation', 'reservations.hold', victimOwn, { concertId, date: DATE, seatNumbers: [1] }));

    /** What the victim sees of their own: compared after every attack. */
    const victimView = async () => ({
      balance: await ok(call<Balance>('query', 'wallet.balance', victimAuth)),
      history: await ok(call('query', 'wallet.history', victimAuth)),
      mine: await ok(call<Mine[]>('query', 'reservations.mine', victimAuth)),
      ticket: await ok(call<Ticket>('query', 'queue.status', { queueToken: victimToken })),
    });
    const before = await victimView();
    expect(before.balance).toEqual({ userId: victim.userId, balance: 3 * PRICE });
    expect(before.mine.map((r) => [r.reservationId, r.status])).toEqual([[held.reservationId, 'HELD']]);
    expect(before.ticket).toMatchObject({ token: victimToken, userId: victim.userId, status: 'ACTIVE' });

    // the strangers: one with the victim's subject from another issuer (a dev token), one of the provider's own
    const twin = await signIn(VICTIM_SUB);
    const mallory = providerUser('auth0|mallory-0002', ec1);
    expect(twin.userId).not.toBe(victim.userId);
    // the victim's queue token is no identity
    await refusedOnBoth(401, 'AUTH_INVALID', 'query', 'wallet.balance', { auth: `Bearer ${victimToken}` });
    // nor is the victim's user id or subject
    await refusedOnBoth(401, 'AUTH_INVALID', 'query', 'wallet.balance', { auth: `Bearer ${victim.userId}` });
    await refusedOnBoth(401, 'AUTH_MISSING', 'query', 'wallet.balance', {}, { userId: victim.userId });
    await refusedOnBoth(
      401,
      'AUTH_MISSING',
      'mutation',
      'reservations.cancel',
      { queueToken: victimToken },
      { reservationId: held.reservationId },
    );

    for (const stranger of [twin, mallory]) {
      const auth = { auth: stranger.authorization };
      // the wallet: a `userId` in the input is no one's; the answer is the stranger's own
      const balance = await ok(call<Balance>('query', 'wallet.balance', auth, { userId: victim.userId }));
      expect(balance.userId).toBe(stranger.userId);
      const charge = await ok(
        call<Charge>('mutation', 'wallet.charge', auth, { amount: 1, userId: victim.userId, idempotencyKey: 'victim-topup' }),
      );
      expect(charge.userId).toBe(stranger.userId);
      expect(charge.transactionId).not.toBe(charged.transactionId);
      const history = await ok(call<{ id: string }[]>('query', 'wallet.history', auth, { userId: victim.userId }));
      expect(history.map((entry) => entry.id)).toEqual([charge.transactionId]);
      // the line: the stranger's own place, never the victim's token
      const ticket = await ok(call<Ticket>('mutation', 'queue.enter', auth, { concertId, userId: victim.userId }));
      expect(ticket.userId).toBe(stranger.userId);
      expect(ticket.token).not.toBe(victimToken);
      // the victim's reservations stay the victim's
      const mine = await ok(call<Mine[]>('query', 'reservations.mine', auth, { userId: victim.userId }));
      expect(mine).toEqual([]);

      // the victim's queue token in a stranger's hands: TOKEN_NOT_YOURS everywhere it acts, on both processes
      const stolen = { auth: stranger.authorization, queueToken: victimToken };
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'mutation', 'reservations.hold', stolen, { concertId, date: DATE, seatNumbers: [2] });
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'mutation', 'reservations.cancel', stolen, { reservationId: held.reservationId });
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'mutation', 'payments.pay', stolen, { reservationId: held.reservationId });
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'mutation', 'queue.leave', stolen);
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'query', 'concerts.availableDates', stolen, { concertId });
      await refusedOnBoth(403, 'TOKEN_NOT_YOURS', 'query', 'concerts.seats', stolen, { concertId, date: DATE });

      // the stranger's own admitted token names no one else's reservation
      const own = { auth: stranger.authorization, queueToken: await enterAndWaitForAdmission(stranger) };
      await refusedOnBoth(404, 'RESERVATION_NOT_FOUND', 'mutation', 'reservations.cancel', own, { reservationId: held.reservationId });
      await refusedOnBoth(404, 'RESERVATION_NOT_FOUND', 'mutation', 'payments.pay', own, { reservationId: held.reservationId });
    }

    // nothing of the victim's moved: balance, history, the HELD reservation, the ACTIVE token
    expect(await victimView()).toEqual(before);
    // and the victim still acts with that token: entering again answers the same place
    expect((await ok(call<Ticket>('mutation', 'queue.enter', victimAuth, { concertId }))).token).toBe(victimToken);
  });

  it('refuses forged, expired, misaddressed, unsigned and unknown-key identity tokens; RS256, ES256 and EdDSA act as userIdOf(issuer, sub)', async () => {
    const sub = 'auth0|honest-0003';
    const impostorKey = providerKey('rsa-1', 'RS256'); // a key of the attacker's, claiming the provider's kid
    const strangerKey = providerKey('rsa-unknown', 'RS256');
    const past = nowSeconds() - 7_200;
    const refused: Record<string, string> = {
      forged: jwt(claimsOf(sub), impostorKey),
      expired: jwt(claimsOf(sub, { iat: past, exp: past + 3_600 }), rsa1),
      'wrong issuer': jwt(claimsOf(sub, { iss: 'https://evil.example/' }), rsa1),
      'wrong audience': jwt(claimsOf(sub, { aud: 'another-service' }), ec1),
      'alg none': jwt(claimsOf(sub), 'none', { kid: 'rsa-1' }),
      'unknown kid': jwt(claimsOf(sub), strangerKey),
      'no sub': jwt(claimsOf(sub, { sub: undefined }), rsa1),
      // the provider's public key as an HMAC secret (algorithm confusion)
      'HS256 with the public key': jwt(claimsOf(sub), { hs256: JSON.stringify(rsa1.publicJwk) }, { kid: 'rsa-1' }),
      'dev token, wrong secret': jwt(claimsOf(sub, { iss: 'frontrow-dev', aud: 'frontrow' }), {
        hs256: 'not-the-dev-secret-0123456789abcdef',
      }),
      'dev token, expired': jwt(claimsOf(sub, { iss: 'frontrow-dev', aud: 'frontrow', iat: past, exp: past + 3_600 }), {
        hs256: TEST_AUTH_SECRET,
      }),
    };
    for (const [what, token] of Object.entries(refused)) {
      for (const base of baseUrls) {
        const answer = await call('query', 'wallet.balance', { auth: `Bearer ${token}` }, undefined, base);
        expect({ what, status: answer.status, reason: answer.reason }).toEqual({ what, status: 401, reason: 'AUTH_INVALID' });
      }
    }

    for (const key of [rsa1, ec1, ed1]) {
      const user = providerUser(sub, key);
      for (const base of baseUrls) {
        const balance = await ok(call<Balance>('query', 'wallet.balance', { auth: user.authorization }, undefined, base));
        expect(balance, key.alg).toEqual({ userId: userIdOf(ISSUER, sub), balance: 0 });
      }
    }
    // the same subject from the development issuer is another user
    const dev = await signIn(sub);
    expect((await ok(call<Balance>('query', 'wallet.balance', { auth: dev.authorization }))).userId).toBe(userIdOf('frontrow-dev', sub));
  });

  it('picks up a JWKS key rotation on both running processes', async () => {
    const rsa2 = providerKey('rsa-2', 'RS256');
    const sub = 'auth0|rotated-0004';
    // not published yet: unknown on both processes (each refetched the keys and did not find it)
    const early = providerUser(sub, rsa2);
    await refusedOnBoth(401, 'AUTH_INVALID', 'query', 'wallet.balance', { auth: early.authorization });

    const fetchesBefore = jwksFetches;
    published = [rsa2, ec1, ed1]; // the provider rotates: rsa-2 in, rsa-1 withdrawn
    const rotated = jwt(claimsOf(sub, { jti: 'after-rotation' }), rsa2);
    for (const base of baseUrls) {
      const balance = await ok(call<Balance>('query', 'wallet.balance', { auth: `Bearer ${rotated}` }, undefined, base));
      expect(balance.userId).toBe(userIdOf(ISSUER, sub));
    }
    expect(jwksFetches).toBeGreaterThanOrEqual(fetchesBefore + 2); // each process fetched the new set
    // a fresh token of the withdrawn key is refused from now on
    await refusedOnBoth(401, 'AUTH_INVALID', 'query', 'wallet.balance', { auth: `Bearer ${jwt(claimsOf(sub, { jti: 'old-key' }), rsa1)}` });
  });

  it('takes a development-token user through enter, admission, hold, charge and pay across both processes', async () => {
    const buyer = await signIn(`dev-buyer-${crypto.randomUUID()}`);
    const queueToken = await enterAndWaitForAdmission(buyer);
    const own = { auth: buyer.authorization, queueToken };
    const dates = await ok(call<{ date: string }[]>('query', 'concerts.availableDates', own, { concertId }));
    expect(dates.map((d) => d.date)).toEqual([DATE]);
    const seats = await ok(
      call<{ seats: { number: number; status: string }[] }>('query', 'concerts.seats', own, { concertId, date: DATE }),
    );
    const free = seats.seats.filter((seat) => seat.status === 'AVAILABLE').map((seat) => seat.number);
    const seatNumbers = free.slice(-2);
    expect(seatNumbers).toHaveLength(2);
    const held = await ok(call<Held>('mutation', 'reservations.hold', own, { concertId, date: DATE, seatNumbers }));
    expect(held.totalPrice).toBe(2 * PRICE);
    const charge = await ok(call<Charge>('mutation', 'wallet.charge', { auth: buyer.authorization }, { amount: held.totalPrice }));
    expect(charge).toMatchObject({ userId: buyer.userId, balance: held.totalPrice });
    const receipt = await ok(
      call<{ paymentId: string; balance: number }>('mutation', 'payments.pay', own, {
        reservationId: held.reservationId,
        idempotencyKey: 'pay-1',
      }),
    );
    expect(receipt.balance).toBe(0);

    const mine = await ok(call<Mine[]>('query', 'reservations.mine', { auth: buyer.authorization }));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ reservationId: held.reservationId, status: 'CONFIRMED', seatNumbers, paymentId: receipt.paymentId });
    expect(mine[0]?.paidAt).toEqual(expect.any(String));
  });
});
