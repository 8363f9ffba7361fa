import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, ConfigError } from './config.ts';
import { DEFAULT_OPERATOR_ROLE, DEV_ISSUER, type IdentityOptions, mintDevIdentityToken, userIdOf } from './identity/identity.ts';

/**
 * The HMAC secret of queue tokens. With a DATABASE_URL (several instances, production) it must be given,
 * since every API process has to verify every other's tokens. On the embedded database (a local run) one
 * is generated once and kept under DATA_DIR, so tokens survive a restart.
 */
export async function resolveTokenSecret(config: Pick<Config, 'TOKEN_SECRET' | 'DATABASE_URL' | 'DATA_DIR'>): Promise<string> {
  if (config.TOKEN_SECRET) return config.TOKEN_SECRET;
  if (config.DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration: TOKEN_SECRET: required when DATABASE_URL is set (every API instance must share one secret)',
    );
  }
  return await keptSecret(config.DATA_DIR, 'token-secret');
}

type AuthConfig = Pick<
  Config,
  'AUTH_JWKS_URL' | 'AUTH_ISSUER' | 'AUTH_AUDIENCE' | 'AUTH_JWKS_COOLDOWN_SECONDS' | 'AUTH_DEV_SECRET' | 'DATABASE_URL' | 'DATA_DIR'
> &
  Partial<Pick<Config, 'AUTH_OPERATOR_CLAIM' | 'AUTH_OPERATOR_ROLE'>>;

/**
 * Whose identity tokens the API trusts (docs/API.md, "Identity"): the operator's OIDC provider
 * (AUTH_JWKS_URL with AUTH_ISSUER and AUTH_AUDIENCE), development tokens signed with AUTH_DEV_SECRET, or
 * both. With a DATABASE_URL one of them must be set; on the embedded database with neither, a
 * development secret is generated once under DATA_DIR (as the token secret is), so `pnpm start` and
 * `frontrow auth token` need no set-up.
 */
export async function resolveAuth(config: AuthConfig): Promise<Pick<IdentityOptions, 'provider' | 'devSecret' | 'operator'>> {
  const operator = {
    claim: config.AUTH_OPERATOR_CLAIM ?? DEFAULT_OPERATOR_ROLE.claim,
    role: config.AUTH_OPERATOR_ROLE ?? DEFAULT_OPERATOR_ROLE.role,
  };
  const provider =
    config.AUTH_JWKS_URL && config.AUTH_ISSUER && config.AUTH_AUDIENCE
      ? {
          jwks: new URL(config.AUTH_JWKS_URL),
          issuer: config.AUTH_ISSUER,
          audience: config.AUTH_AUDIENCE,
          cooldownSeconds: config.AUTH_JWKS_COOLDOWN_SECONDS,
        }
      : undefined;
  if (provider || config.AUTH_DEV_SECRET) {
    return { operator, ...(provider ? { provider } : {}), ...(config.AUTH_DEV_SECRET ? { devSecret: config.AUTH_DEV_SECRET } : {}) };
  }
  if (config.DATABASE_URL) {
    throw new ConfigError(
      'invalid configuration: AUTH_JWKS_URL or AUTH_DEV_SECRET: one is required when DATABASE_URL is set (whose sign-in to trust)',
    );
  }
  return { operator, devSecret: await keptSecret(config.DATA_DIR, 'auth-dev-secret') };
}

/**
 * The web app's development sign-in (`auth.devSignIn`): a development identity token for a name, offered
 * only when the API trusts development tokens and no identity provider, i.e. on a local or demo run.
 * With AUTH_JWKS_URL set it is undefined, whatever AUTH_DEV_SECRET says: production never mints users.
 * Never an operator's token.
 */
export function devSignInFor(auth: Pick<IdentityOptions, 'provider' | 'devSecret'>): DevSignIn | undefined {
  const secret = auth.devSecret;
  if (secret === undefined || auth.provider !== undefined) return undefined;
  return async (subject) => {
    const now = Date.now();
    const token = await mintDevIdentityToken(secret, { subject, ttlSeconds: DEV_SIGN_IN_TTL_SECONDS, now });
    return {
      token,
      userId: userIdOf(DEV_ISSUER, subject),
      expiresAt: new Date((Math.floor(now / 1000) + DEV_SIGN_IN_TTL_SECONDS) * 1000).toISOString(),
    };
  };
}

/** How long a development sign-in lasts. */
export const DEV_SIGN_IN_TTL_SECONDS = 3600;

export type DevSignIn = (subject: string) => Promise<{ token: string; userId: string; expiresAt: string }>;

/**
 * The development identity secret the API trusts (what `frontrow auth token` and the bench sign with):
 * `resolveAuth`'s, so a minted token is always one the API accepts.
 */
export async function resolveDevSecret(config: AuthConfig): Promise<string> {
  const { devSecret } = await resolveAuth(config);
  if (devSecret) return devSecret;
  throw new ConfigError('invalid configuration: AUTH_DEV_SECRET: required to mint development tokens (only AUTH_JWKS_URL is set)');
}

/** A random secret kept in DATA_DIR/<name>, made on first use (mode 0600). */
async function keptSecret(dataDir: string, name: string): Promise<string> {
  const file = join(dataDir, name);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 32) return kept;
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
