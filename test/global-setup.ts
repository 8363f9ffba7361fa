/** One PostgreSQL server for the whole integration run; each test file makes a database of its own on it. */
import type { TestProject } from 'vitest/node';
import { resolveTestServer } from '@frontrow/db/testing';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await resolveTestServer({
    url: process.env.TEST_DATABASE_URL,
    log: (line) => console.log(`[test-db] ${line}`),
  });
  console.log(`[test-db] PostgreSQL from ${server.source}`);
  project.provide('pgServerUrl', server.url);
  return server.stop;
}
