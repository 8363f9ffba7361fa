/** The inner context of the API over a test database, for tests that call procedures or `buildServer`. */
import {
  DEFAULT_OPERATOR_ROLE,
  createIdentityVerifier,
  createTokenSigner,
  DEV_ISSUER,
  mintDevIdentityToken,
  noJobs,
  systemClock,
  userIdOf,
} from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import type { MikroORM } from '@frontrow/core';
import type { InnerContext } from './context.ts';

export const TEST_TOKEN_SECRET = 'frontrow-test-token-secret-0123456789abcdef';
/** AUTH_DEV_SECRET of the API under test: the identity tokens of `signIn`. */
export const TEST_AUTH_SECRET = 'frontrow-test-auth-dev-secret-0123456789abcdef';

/** A signed-in test user: a development identity token for `subject` (random if not given) and its user id. */
export async function signIn(
  subject: string = crypto.randomUUID(),
  secret = TEST_AUTH_SECRET,
  options: { operator?: boolean } = {},
): Promise<TestUser> {
  const token = await mintDevIdentityToken(secret, { subject, ...(options.operator ? { operator: DEFAULT_OPERATOR_ROLE } : {}) });
  return { subject, userId: userIdOf(DEV_ISSUER, subject), authorization: `Bearer ${token}` };
}

export type TestUser = { subject: string; userId: string; authorization: string };

export function testInnerContext(orm: MikroORM, overrides: Partial<InnerContext> = {}): InnerContext {
  return {
    em: orm.em,
    clock: systemClock,
    jobs: noJobs,
    settings: testSettings,
    tokens: createTokenSigner(TEST_TOKEN_SECRET),
    identities: createIdentityVerifier({ devSecret: TEST_AUTH_SECRET }),
    ...overrides,
  };
}
