import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
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

/**
 * HS256 JWTs: a token is checked by its signature alone, without a query. Signing is deterministic (no
 * `iat`, no expiry: the status and `activeUntil` come from the database), so the same token always
 * signs to the same string and a user who enters again gets back exactly the token they hold.
 */
export function createTokenSigner(secret: string): TokenSigner {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(claims) {
      return await new SignJWT({ tid: claims.tokenId, cid: claims.concertId, tkt: claims.ticket })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.userId)
        .sign(key);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
        const parsed = payloadSchema.safeParse(payload);
        if (!parsed.success) return null;
        return { tokenId: parsed.data.tid, userId: parsed.data.sub, concertId: parsed.data.cid, ticket: parsed.data.tkt };
      } catch (error) {
        if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
        throw error;
      }
    },
  };
}
