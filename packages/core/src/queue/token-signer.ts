import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** What a queue token says about its holder; the status always comes from the database. */
export type TokenClaims = { tokenId: string; userId: string; concertId: string; ticket: number };

export type TokenSigner = {
  sign(claims: TokenClaims): Promise<string>;
  /** The claims of a token this service signed, or null for a forged, altered or malformed one. No I/O. */
  verify(token: string): Promise<TokenClaims | null>;
};

const payloadSchema = z.object({
  sub: z.uuid(),
  tid: z.string().regex(/^\d+$/),
  cid: z.string().regex(/^\d+$/),
  tkt: z.number().int().nonnegative(),
});

/** The one header this signer writes; a token with any other header is not one of ours. */
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * HS256 JWTs: a token is checked by its signature alone, without a query. Signing is deterministic (no
 * `iat`, no expiry: the status and `activeUntil` come from the database), so the same token always
 * signs to the same string and a user who enters again gets back exactly the token they hold.
 *
 * The HMAC is node:crypto's, computed in line: every queue poll verifies a token, and WebCrypto (what a
 * JWT library runs on) sends each HMAC through the thread pool, which cost a poll about a fifth of its
 * CPU (docs/BENCHMARKS.md). The tokens are the same compact JWS strings (`{"alg":"HS256","typ":"JWT"}`,
 * claims `tid`, `cid`, `tkt`, `sub`), and only exactly that header, unpadded base64url, is accepted.
 */
export function createTokenSigner(secret: string): TokenSigner {
  const mac = (signingInput: string) => createHmac('sha256', secret).update(signingInput).digest('base64url');
  return {
    async sign(claims) {
      const payload = Buffer.from(
        JSON.stringify({ tid: claims.tokenId, cid: claims.concertId, tkt: claims.ticket, sub: claims.userId }),
      ).toString('base64url');
      return `${HEADER}.${payload}.${mac(`${HEADER}.${payload}`)}`;
    },
    async verify(token) {
      const [header, payload, signature, extra] = token.split('.');
      if (header !== HEADER || payload === undefined || signature === undefined || extra !== undefined) return null;
      const expected = Buffer.from(mac(`${header}.${payload}`));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      const parsed = payloadSchema.safeParse(parseJson(Buffer.from(payload, 'base64url').toString('utf8')));
      if (!parsed.success) return null;
      return { tokenId: parsed.data.tid, userId: parsed.data.sub, concertId: parsed.data.cid, ticket: parsed.data.tkt };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: the schema rejects it
  }
}
