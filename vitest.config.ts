import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// a temp directory for the unit tests alone, which test/unit-tmpdir.ts requires empty when they end
const unitTmpDir = join(tmpdir(), `frontrow-unit-${process.pid}`);

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{apps,packages}/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          env: { TMPDIR: unitTmpDir },
          globalSetup: ['./test/unit-tmpdir.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{apps,packages}/*/src/**/*.int.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          globalSetup: ['./test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // One file at a time: the contention tests open 50–100 connections each (and the end-to-end test
          // four processes), which two files at once would push past a stock PostgreSQL's max_connections.
          maxWorkers: 1,
        },
      },
    ],
  },
});
