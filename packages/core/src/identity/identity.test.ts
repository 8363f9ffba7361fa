import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDomainError } from '../errors.ts';
import {
  DEFAULT_OPERATOR_ROLE,
  DEV_AUDIENCE,
  DEV_ISSUER,
  createIdentityVerifier,
  hasOperatorRole,
  mintDevIdentityToken,
  operatorClaims,
  userIdOf,
} from './identity.ts';

const DEV_SECRET = 'identity-test-dev-secret-0123456789abcdef';
const ISSUER = 'https://login.example.com/';
const AUDIENCE = 'https://tickets.example.com';
const NOW = Date.parse('2026-12-03T10:00:00Z');
const seconds = (ms: number) => Math.floor(ms / 1000);

type Key = { kid: string; alg: string; privateKey: CryptoKey; jwk: JWK };

async function key(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A provider's token: valid for an hour from NOW unless the test says otherwise. */
async function providerToken(
  signer: Key,
  claims: { iss?: string; aud?: string; sub?: string; exp?: number; nbf?: number; extra?: Record<string, unknown> } = {},
) {
  const jwt = new SignJWT(claims.extra ?? {})
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject(claims.sub ?? 'auth0|5f7c8ec7c33c6c004bbafe82')
    .setIssuedAt(seconds(NOW))
    .setExpirationTime(claims.exp ?? seconds(NOW) + 3600);
  if (claims.nbf !== undefined) jwt.setNotBefore(claims.nbf);
  return await jwt.sign(signer.privateKey);
}

/** The operator's JWKS endpoint, served by the test over local HTTP; `keys` is what it publishes now. */
let jwks: { keys: JWK[]; fetches: number; down: boolean };
let server: Server;
let jwksUrl: URL;

beforeAll(async () => {
  jwks = { keys: [], fetches: 0, down: false };
  server = createServer((_req, res) => {
    jwks.fetches++;
    if (jwks.down) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function verifier(options: { cooldownSeconds?: number; now?: () => number; cacheSize?: number } = {}) {
  return createIdentityVerifier({
    provider: { jwks: jwksUrl, issuer: ISSUER, audience: AUDIENCE, cooldownSeconds: options.cooldownSeconds ?? 0 },
    devSecret: DEV_SECRET,
    now: options.now ?? (() => NOW),
    ...(options.cacheSize ? { cacheSize: options.cacheSize } : {}),
  });
}

describe('userIdOf', () => {
  it('is a UUID, the same for the same (issuer, subject), and different when either differs', () => {
    const id = userIdOf(ISSUER, 'auth0|abc');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(userIdOf(ISSUER, 'auth0|abc')).toBe(id);
    expect(userIdOf(ISSUER, 'auth0|abd')).not.toBe(id);
    expect(userIdOf(DEV_ISSUER, 'auth0|abc')).not.toBe(id);
    // the pair is encoded unambiguously: moving a character across the boundary is another user
    expect(userIdOf('a', 'bc')).not.toBe(userIdOf('ab', 'c'));
    // pinned: changing the namespace or the encoding would move every wallet to a new user id
    expect(userIdOf(DEV_ISSUER, 'alice')).toBe('d16b5b34-027e-5eda-8385-cfe6382b1cc4');
  });
});

describe('identity tokens from the operator provider (JWKS)', () => {
  it('accepts RS256, ES256 and EdDSA tokens of the configured issuer and audience, with any subject format', async () => {
    const keys = [await key('rsa-1', 'RS256'), await key('ec-1', 'ES256'), await key('ed-1', 'EdDSA')];
    jwks.keys = keys.map((k) => k.jwk);
    const identities = verifier();
    for (const signer of keys) {
      for (const sub of ['auth0|5f7c8ec7c33c6c004bbafe82', 'alice@example.com', '8a1c9a1e-6f0e-4c52-9d7e-3f5b2b1f0c11']) {
        expect(await identities.verify(await providerToken(signer, { sub })), `${signer.alg} ${sub}`).toEqual({
          userId: userIdOf(ISSUER, sub),
          issuer: ISSUER,
          subject: sub,
          operator: false,
        });
      }
    }
  });

  it('refuses forged, expired, not-yet-valid, wrong-issuer, wrong-audience and unknown-key tokens', async () => {
    const signer = await key('rsa-2', 'RS256');
    const stranger = await key('rsa-2', 'RS256'); // same kid, another private key: a forgery
    const unknown = await key('rsa-unknown', 'RS256');
    jwks.keys = [signer.jwk];
    const identities = verifier();
    const cases: Record<string, string> = {
      forged: await providerToken(stranger),
      expired: await providerToken(signer, { exp: seconds(NOW) - 31 }),
      'not yet valid': await providerToken(signer, { nbf: seconds(NOW) + 31 }),
      'wrong issuer': await providerToken(signer, { iss: 'https://evil.example.com/' }),
      'wrong audience': await providerToken(signer, { aud: 'https://other-app.example.com' }),
      'unknown kid': await providerToken(unknown),
      'no subject': await providerToken(signer, { sub: '' }),
      'subject too long': await providerToken(signer, { sub: 'x'.repeat(256) }),
    };
    for (const [name, token] of Object.entries(cases)) expect(await identities.verify(token), name).toBeNull();
    // within the clock tolerance (30 s) a token is still fine: clocks a little apart do not lock users out
    expect(await identities.verify(await providerToken(signer, { exp: seconds(NOW) - 29 }))).not.toBeNull();
  });

  it('refuses alg none, and HMAC tokens that claim the provider (signed with the public key as the secret)', async () => {
    const signer = await key('rsa-3', 'RS256');
    jwks.keys = [signer.jwk];
    const identities = verifier();
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', exp: seconds(NOW) + 3600 };
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect(await identities.verify(none)).toBeNull();
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-3' })
      .sign(new TextEncoder().encode(JSON.stringify(signer.jwk)));
    expect(await identities.verify(confused)).toBeNull();
    for (const garbage of ['', 'abc', 'a.b.c', '....', `${b64({ alg: 'RS256' })}.${b64(claims)}.AAAA`]) {
      expect(await identities.verify(garbage), garbage).toBeNull();
    }
  });

  it('picks up a rotated key without a restart: an unknown kid refetches the JWKS', async () => {
    const before = await key('rotate-1', 'ES256');
    const after = await key('rotate-2', 'ES256');
    jwks.keys = [before.jwk];
    const identities = verifier();
    expect(await identities.verify(await providerToken(before))).not.toBeNull();
    const fetched = jwks.fetches;
    jwks.keys = [after.jwk]; // the provider rotates: the old key is withdrawn
    expect(await identities.verify(await providerToken(after, { sub: 'bob' }))).toMatchObject({ subject: 'bob' });
    expect(jwks.fetches).toBe(fetched + 1);
  });

  it('answers BUSY, not AUTH_INVALID, when the provider keys cannot be fetched', async () => {
    const signer = await key('outage-1', 'RS256');
    jwks.keys = [signer.jwk];
    jwks.down = true;
    try {
      const outcome = await verifier()
        .verify(await providerToken(signer))
        .catch((error: unknown) => error);
      expect(isDomainError(outcome, 'BUSY')).toBe(true);
    } finally {
      jwks.down = false;
    }
  });
});

describe('development identity tokens (AUTH_DEV_SECRET)', () => {
  it('accepts what mintDevIdentityToken signs, as the user of (frontrow-dev, subject)', async () => {
    const token = await mintDevIdentityToken(DEV_SECRET, { subject: 'alice', now: NOW });
    expect(await verifier().verify(token)).toEqual({
      userId: userIdOf(DEV_ISSUER, 'alice'),
      issuer: DEV_ISSUER,
      subject: 'alice',
      operator: false,
    });
  });

  it('refuses another secret, another issuer or audience, expiry, and dev tokens when no dev secret is set', async () => {
    const identities = verifier();
    const signed = (claims: { iss?: string; aud?: string; exp?: number }, secret = DEV_SECRET) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(claims.iss ?? DEV_ISSUER)
        .setAudience(claims.aud ?? DEV_AUDIENCE)
        .setSubject('alice')
        .setExpirationTime(claims.exp ?? seconds(NOW) + 60)
        .sign(new TextEncoder().encode(secret));
    expect(await identities.verify(await signed({}))).not.toBeNull();
    expect(await identities.verify(await signed({}, 'another-secret-of-at-least-32-characters!'))).toBeNull();
    expect(await identities.verify(await signed({ iss: ISSUER }))).toBeNull();
    expect(await identities.verify(await signed({ aud: AUDIENCE }))).toBeNull();
    expect(await identities.verify(await signed({ exp: seconds(NOW) - 31 }))).toBeNull();
    const providerOnly = createIdentityVerifier({ provider: { jwks: jwksUrl, issuer: ISSUER, audience: AUDIENCE }, now: () => NOW });
    expect(await providerOnly.verify(await signed({}))).toBeNull();
  });
});

describe('the verified-token cache', () => {
  /** A provider whose key lookups are counted: each one is a signature check the cache did not spare. */
  async function countingProvider(now: () => number, cacheSize?: number) {
    const signer = await key('cache-1', 'ES256');
    const lookups = { count: 0 };
    const local = createLocalJWKSet({ keys: [signer.jwk] });
    const identities = createIdentityVerifier({
      provider: {
        jwks: (header, token) => {
          lookups.count++;
          return local(header, token);
        },
        issuer: ISSUER,
        audience: AUDIENCE,
      },
      now,
      ...(cacheSize ? { cacheSize } : {}),
    });
    return { signer, lookups, identities };
  }

  it('serves a verified token without a second signature check until it expires, then refuses it', async () => {
    let now = NOW;
    const { signer, lookups, identities } = await countingProvider(() => now);
    const token = await providerToken(signer, { exp: seconds(NOW) + 60 });
    for (let i = 0; i < 100; i++) expect(await identities.verify(token)).toMatchObject({ issuer: ISSUER });
    expect(lookups.count).toBe(1);
    now = NOW + (60 + 30) * 1000 + 1; // past exp and the clock tolerance: checked again, and refused
    expect(await identities.verify(token)).toBeNull();
    expect(lookups.count).toBe(2);
  });

  it('keeps at most cacheSize tokens: the least recently used is checked again', async () => {
    const { signer, lookups, identities } = await countingProvider(() => NOW, 2);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => providerToken(signer, { sub })));
    for (const token of [a, b, c]) expect(await identities.verify(token ?? '')).not.toBeNull();
    expect(lookups.count).toBe(3);
    expect(await identities.verify(c ?? '')).toMatchObject({ subject: 'c' });
    expect(lookups.count).toBe(3);
    expect(await identities.verify(a ?? '')).toMatchObject({ subject: 'a' });
    expect(lookups.count).toBe(4);
  });

  it('never caches a refusal as a pass', async () => {
    const { signer, identities } = await countingProvider(() => NOW);
    const token = await providerToken(signer, { aud: 'someone-else' });
    expect(await identities.verify(token)).toBeNull();
    expect(await identities.verify(token)).toBeNull();
  });
});

describe('the operator role', () => {
  const role = DEFAULT_OPERATOR_ROLE;
  it('is a claim holding the role: an array, or a space-separated string (scope); a dotted path reaches a nested claim', () => {
    expect(hasOperatorRole({ roles: ['viewer', 'frontrow-operator'] }, role)).toBe(true);
    expect(hasOperatorRole({ roles: 'openid frontrow-operator' }, role)).toBe(true);
    expect(hasOperatorRole({ realm_access: { roles: ['ops'] } }, { claim: 'realm_access.roles', role: 'ops' })).toBe(true);
    expect(
      hasOperatorRole(operatorClaims({ claim: 'realm_access.roles', role: 'ops' }), { claim: 'realm_access.roles', role: 'ops' }),
    ).toBe(true);
  });

  it('is absent for another role, a prefix of it, another claim, or a claim of another type', () => {
    expect(hasOperatorRole({}, role)).toBe(false);
    expect(hasOperatorRole({ roles: ['viewer'] }, role)).toBe(false);
    expect(hasOperatorRole({ roles: 'frontrow-operator-trainee' }, role)).toBe(false);
    expect(hasOperatorRole({ permissions: ['frontrow-operator'] }, role)).toBe(false);
    expect(hasOperatorRole({ roles: { 'frontrow-operator': true } }, role)).toBe(false);
    expect(hasOperatorRole({ realm_access: ['ops'] }, { claim: 'realm_access.roles', role: 'ops' })).toBe(false);
  });

  it("a verified token says whether it is an operator's: development tokens minted with it, and provider tokens", async () => {
    const ops = await mintDevIdentityToken(DEV_SECRET, { subject: 'ops', now: NOW, operator: role });
    const person = await mintDevIdentityToken(DEV_SECRET, { subject: 'ops2', now: NOW });
    expect(await verifier().verify(ops)).toMatchObject({ subject: 'ops', operator: true });
    expect(await verifier().verify(person)).toMatchObject({ operator: false });
    const signer = await key('ops-key', 'ES256');
    jwks.keys = [signer.jwk];
    expect(await verifier().verify(await providerToken(signer, { extra: { roles: ['frontrow-operator'] } }))).toMatchObject({
      operator: true,
    });
    expect(await verifier().verify(await providerToken(signer, { sub: 'x', extra: { roles: ['viewer'] } }))).toMatchObject({
      operator: false,
    });
  });
});
