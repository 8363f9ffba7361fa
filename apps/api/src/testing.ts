/** The inner context of the API over a test database, for tests that call procedures or `buildServer`. */
import { createTokenSigner, noJobs, systemClock } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import type { MikroORM } from '@frontrow/db';
import type { InnerContext } from './context.ts';

export const TEST_TOKEN_SECRET = 'frontrow-test-token-secret-0123456789abcdef';

export function testInnerContext(orm: MikroORM, overrides: Partial<InnerContext> = {}): InnerContext {
  return {
    em: orm.em,
    clock: systemClock,
    jobs: noJobs,
    settings: testSettings,
    tokens: createTokenSigner(TEST_TOKEN_SECRET),
    ...overrides,
  };
}
