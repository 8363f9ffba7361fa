import { type KeyObject, createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import {
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
} from 'jose';
import { LRUCache } from 'lru-cache';
import { v5 as uuidv5 } from 'uuid';
import { DomainError } from '../errors.ts';

/**
 * Who is calling: the user behind a verified identity token. FrontRow's `userId` is derived from
 * (issuer, subject) alone, so it needs no users table and is the same on every API process.
 */
export type Identity = {
  userId: string;
  issuer: string;
  subject: string;
  /** The token carries the operator role (OPERATIONS.md, "The operator credential"): the `operator.*` procedures. */
  operator: boolean;
};

/**
 * Where an operator's token says so: a claim (a dotted path, e.g. `realm_access.roles` for Keycloak) holding
 * the role, as an array of strings or a space-separated string (`scope`). AUTH_OPERATOR_CLAIM, AUTH_OPERATOR_ROLE.
 */
export type OperatorRole = { claim: string; role: string };
export const DEFAULT_OPERATOR_ROLE: OperatorRole = { claim: 'roles', role: 'frontrow-operator' };

/** Whether a verified token's claims carry the operator role. */
export function hasOperatorRole(claims: Record<string, unknown>, operator: OperatorRole): boolean {
  let value: unknown = claims;
  for (const key of operator.claim.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'string') return value.split(' ').includes(operator.role);
  return Array.isArray(value) && value.includes(operator.role);
}

/** The claims that give `operator`'s role, to add to a token's payload (`frontrow auth token --operator`). */
export function operatorClaims(operator: OperatorRole): Record<string, unknown> {
  const keys = operator.claim.split('.');
  let claims: unknown = [operator.role];
  for (const key of keys.reverse()) claims = { [key]: claims };
  return claims as Record<string, unknown>;
}

/** Issuer and audience of the development tokens signed with AUTH_DEV_SECRET (`frontrow auth token`). */
export const DEV_ISSUER = 'frontrow-dev';
export const DEV_AUDIENCE = 'frontrow';

/** The algorithms an operator's identity provider may sign with; never `none`, never an HMAC on this path. */
export const PROVIDER_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

/** FrontRow's own UUIDv5 namespace for user ids (a fixed random UUID: changing it would move every wallet). */
const USER_NAMESPACE = '6f1c1e4e-3c1d-4b7a-9a55-2f0c8d7e9b31';

/** Longest subject accepted (providers use ~20–64 characters; an email may be up to 254). */
const MAX_SUBJECT_LENGTH = 255;

/**
 * The user id of (issuer, subject): UUIDv5 of the JSON array `[issuer, subject]` in FrontRow's namespace.
 * Deterministic, so every process and the CLI agree without a lookup; any subject format works
 * (`auth0|5f7c…`, an email, a UUID). docs/API.md, "Identity".
 */
export function userIdOf(issuer: string, subject: string): string {
  return uuidv5(JSON.stringify([issuer, subject]), USER_NAMESPACE);
}

export type IdentityVerifier = {
  /**
   * The identity behind a token, or null when the token is not one to trust (bad signature, wrong
   * issuer or audience, expired, not yet valid, unknown key, an algorithm not allowed, malformed).
   * Throws BUSY when the provider's keys cannot be fetched (that is not the caller's fault).
   */
  verify(token: string): Promise<Identity | null>;
};

export type IdentityOptions = {
  /** The operator's OIDC provider: its JWKS (a URL, fetched and cached by jose; or keys for tests). */
  provider?: {
    jwks: URL | JWTVerifyGetKey;
    issuer: string;
    audience: string;
    /** Least time between two key fetches an unknown `kid` may trigger (jose's cooldown). */
    cooldownSeconds?: number;
  };
  /** HS256 key of development tokens (issuer `frontrow-dev`, audience `frontrow`). */
  devSecret?: string;
  /** The claim and role that make a token an operator's (default: `roles` containing `frontrow-operator`). */
  operator?: OperatorRole;
  /** Leeway for `exp` and `nbf`, for clocks a little apart. */
  clockToleranceSeconds?: number;
  /** Verified tokens kept (until they expire), so a poll or a hold storm pays no signature check per call. */
  cacheSize?: number;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
};

/** jose's answers that mean "this token is not to be trusted" (anything else is an outage: BUSY). */
const UNTRUSTED = new Set([
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
  errors.JWKInvalid.code,
]);

type Cached = { identity: Identity; expiresAtMs: number };

export function createIdentityVerifier(options: IdentityOptions): IdentityVerifier {
  const now = options.now ?? Date.now;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const devKey = options.devSecret === undefined ? undefined : createSecretKey(Buffer.from(options.devSecret));
  const provider = options.provider;
  const providerKeys =
    provider === undefined
      ? undefined
      : provider.jwks instanceof URL
        ? createRemoteJWKSet(provider.jwks, { cooldownDuration: (provider.cooldownSeconds ?? 30) * 1000 })
        : provider.jwks;
  const cache = new LRUCache<string, Cached>({ max: options.cacheSize ?? 100_000 });
  const operatorRole = options.operator ?? DEFAULT_OPERATOR_ROLE;

  async function check(token: string, alg: string | undefined) {
    const currentDate = new Date(now());
    // the header picks the path; each path allows only its own algorithms, so a provider's issuer in an
    // HMAC token (signed with a public key as the "secret") or `alg: none` never verifies
    if (alg === 'HS256' && devKey) return verifyDevToken(token, devKey, currentDate.getTime() / 1000, clockTolerance);
    if (alg !== undefined && PROVIDER_ALGORITHMS.includes(alg) && provider && providerKeys) {
      return await jwtVerify(token, providerKeys, {
        algorithms: PROVIDER_ALGORITHMS,
        issuer: provider.issuer,
        audience: provider.audience,
        clockTolerance,
        currentDate,
        requiredClaims: ['sub', 'exp'],
      });
    }
    return null;
  }

  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached) {
        if (cached.expiresAtMs > now()) return cached.identity;
        cache.delete(token);
      }
      const alg = algorithmOf(token);
      if (alg === null) return null;
      let verified: Awaited<ReturnType<typeof check>>;
      try {
        verified = await check(token, alg);
      } catch (error) {
        if (error instanceof errors.JOSEError && UNTRUSTED.has(error.code)) return null;
        throw new DomainError('BUSY', "the sign-in provider's keys cannot be fetched; retry shortly", { cause: error });
      }
      if (!verified) return null;
      const { iss, sub, exp } = verified.payload;
      if (typeof iss !== 'string' || typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) return null;
      if (typeof exp !== 'number') return null;
      const identity = { userId: userIdOf(iss, sub), issuer: iss, subject: sub, operator: hasOperatorRole(verified.payload, operatorRole) };
      cache.set(token, { identity, expiresAtMs: (exp + clockTolerance) * 1000 });
      return identity;
    },
  };
}

/**
 * A development token (HS256, AUTH_DEV_SECRET): the HMAC computed in line with node:crypto, then jose's
 * rules for the claims (issuer `frontrow-dev`, audience `frontrow`, `sub`, `exp` and `nbf` with the
 * tolerance). jose's `jwtVerify` runs the HMAC through WebCrypto and the thread pool, about 110 µs of CPU
 * per token against about 20 here: every new user of a flash crowd pays it once, which cost `queue.enter`
 * a seventh of its rate in the bench (docs/BENCHMARKS.md). Provider tokens (RS256, ES256, EdDSA) stay
 * with jose.
 */
function verifyDevToken(token: string, key: KeyObject, nowSeconds: number, tolerance: number): { payload: JWTPayload } | null {
  const [header, payload, signature, extra] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined || extra !== undefined) return null;
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return null; // not a JSON object
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== DEV_ISSUER || !audiences.includes(DEV_AUDIENCE)) return null;
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp <= nowSeconds - tolerance) return null;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > nowSeconds + tolerance)) return null;
  return { payload: claims };
}

/** The `alg` of a token's header; null for a string that is no JWS at all. */
function algorithmOf(token: string): string | undefined | null {
  try {
    return decodeProtectedHeader(token).alg;
  } catch {
    return null; // jose's TypeError for a malformed token or header
  }
}

/** A development identity token for `subject`, signed with AUTH_DEV_SECRET (`frontrow auth token`). */
export async function mintDevIdentityToken(
  secret: string,
  options: { subject: string; ttlSeconds?: number; now?: number; operator?: OperatorRole },
): Promise<string> {
  if (options.subject.length === 0 || options.subject.length > MAX_SUBJECT_LENGTH) {
    throw new RangeError(`the subject must be 1…${MAX_SUBJECT_LENGTH} characters`);
  }
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  return await new SignJWT(options.operator ? operatorClaims(options.operator) : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(options.subject)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(secret));
}
