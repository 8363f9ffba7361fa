import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenSigner } from './token-signer.ts';

const secret = 'a-test-secret-of-at-least-32-characters!';
const claims = { tokenId: '42', userId: '6f1c1a52-8a7e-4c56-9d61-1b8a3f0f9f10', concertId: '7', ticket: 13 };

afterEach(() => {
  vi.useRealTimers();
});

describe('queue token signer', () => {
  it('reads back the claims it signed', async () => {
    const signer = createTokenSigner(secret);
    expect(await signer.verify(await signer.sign(claims))).toEqual(claims);
  });

  it('signs the same token to the same string, so a user entering again gets the token they hold', async () => {
    const signer = createTokenSigner(secret);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const first = await signer.sign(claims);
    vi.setSystemTime(new Date('2030-01-01T01:00:00Z')); // an hour later an `iat` would differ
    expect(await signer.sign(claims)).toBe(first);
  });

  it('rejects a token signed with another secret (forged)', async () => {
    const forged = await createTokenSigner('another-secret-of-at-least-32-characters').sign(claims);
    expect(await createTokenSigner(secret).verify(forged)).toBeNull();
  });

  it('rejects a token whose claims were altered after signing', async () => {
    const signer = createTokenSigner(secret);
    const [header, , signature] = (await signer.sign(claims)).split('.');
    const payload = Buffer.from(JSON.stringify({ tid: '42', cid: '7', tkt: 1, sub: claims.userId })).toString('base64url');
    expect(await signer.verify(`${header}.${payload}.${signature}`)).toBeNull();
  });

  it('accepts a token only in the exact form it signed: no other header, no padding or stray characters', async () => {
    const signer = createTokenSigner(secret);
    const token = await signer.sign(claims);
    const [, payload, signature] = token.split('.');
    const otherHeader = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');
    for (const variant of [`${otherHeader}.${payload}.${signature}`, `${token}=`, `${token}!`, `${token}.`]) {
      expect(await signer.verify(variant)).toBeNull();
    }
  });

  it('rejects malformed tokens without throwing', async () => {
    const signer = createTokenSigner(secret);
    for (const token of ['', 'abc', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) expect(await signer.verify(token)).toBeNull();
  });
});
