/**
 * The tests `pnpm mutate` (Stryker) runs against each mutant: the unit tests of the rules and the
 * integration tests that check each rule's SQL form against its TypeScript form. Narrower than the whole
 * suite on purpose: a rule's own tests must kill its mutants, not a storm test that happens to touch it.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{apps,packages}/*/src/**/*.test.ts'],
    // the packed client's test type-checks the sources, which Stryker's instrumented code would fail
    exclude: ['**/node_modules/**', '**/*-storm.int.test.ts', 'packages/api-client/**'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
