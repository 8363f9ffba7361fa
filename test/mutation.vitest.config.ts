/**
 * The tests `pnpm mutate` (Stryker) runs against each mutant: the unit tests of the rules and the
 * integration tests that check each rule's SQL form against its TypeScript form. Narrower than the whole
 * suite on purpose: a rule's own tests must kill its mutants, not a storm test that happens to touch it
 * (and a run stays minutes long: a fragment is composed at module load, so its mutants are "static" and
 * run every included test).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // each rules module's own tests (unit, and the agreement of its functions with its SQL fragments),
    // and the guards' (ticket.test.ts); `related` then keeps those that import the mutated file
    include: [
      'packages/core/src/booking/hold-rules.test.ts',
      'packages/core/src/booking/hold-rules.int.test.ts',
      'packages/core/src/queue/crowd-rules.test.ts',
      'packages/core/src/queue/crowd-rules.int.test.ts',
      'packages/core/src/queue/admission.test.ts',
      'packages/core/src/queue/ticket.test.ts',
    ],
    // the packed client's test type-checks the sources, which Stryker's instrumented code would fail
    exclude: ['**/node_modules/**', '**/*-storm.int.test.ts', 'packages/api-client/**'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
