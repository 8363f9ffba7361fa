/**
 * The package as a client team gets it: `pnpm pack`, installed with npm into a project outside the workspace,
 * type-checked (strict, declarations included) and run against a live API.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildServer } from '@frontrow/api';
import { createConcert, createIdentityVerifier, createTokenSigner, mintDevIdentityToken, noJobs, systemClock } from '@frontrow/core';
import { testSettings } from '@frontrow/core/testing';
import { type TestDatabase, createTestDatabase } from '@frontrow/db/testing';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const workspaceTsc = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url));

let db: TestDatabase;
let app: Awaited<ReturnType<typeof buildServer>>;
let url: string;
let consumer: string;
const settings = testSettings;
const AUTH_SECRET = 'packed-client-test-auth-secret-of-32-chars';
const deps = () => ({ em: db.orm.em, clock: systemClock, jobs: noJobs, settings });

/**
 * THE CLIENT FLOW, in one place: what an outside program does with the package. Keep it small; it follows
 * the wire contract (API.md), so a change to how tokens travel changes it here and nowhere else in this file.
 * It prints one JSON line for the test to read; the `@ts-expect-error` lines fail the type-check if the
 * package's declarations lose the router's types (everything `any` would make them unused).
 */
const CONSUMER_PROGRAM = `
import { createFrontRowClient, errorReason, type AppRouter } from '@frontrow/api-client';
import type { inferRouterOutputs } from '@trpc/server';

type Ticket = inferRouterOutputs<AppRouter>['queue']['enter'];
const [url = '', concertId = '', identityToken = ''] = process.argv.slice(2);

// the signed-in user's identity token: a getter, as a sign-in library that refreshes tokens would give
const client = createFrontRowClient({ url, identityToken: async () => identityToken });
const ticket: Ticket = await client.queue.enter.mutate({ concertId });
const status: 'PRE_QUEUE' | 'WAITING' | 'ACTIVE' | 'COMPLETED' | 'EXPIRED' | 'CANCELLED' = ticket.status;
// type-checked, never called
export function wrongCalls() {
  // @ts-expect-error concertId is a string
  void client.queue.enter.mutate({ concertId: 1 });
  // @ts-expect-error no such procedure
  void client.queue.nope;
}

const missing = errorReason(await client.queue.status.query().catch((error: unknown) => error));
client.setQueueToken(ticket.token);
const read = await client.queue.status.query();
console.log(JSON.stringify({ entered: status, missing, sameToken: read.token === ticket.token, position: read.position }));
`;
/** What CONSUMER_PROGRAM prints against a fresh concert: the end of the client flow's one place. */
const CONSUMER_PRINTS = { entered: 'WAITING', missing: 'TOKEN_MISSING', sameToken: true, position: 1 };

/** A Node consumer's settings: strict, and the package's declarations checked too (no skipLibCheck). */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'es2024',
    // tRPC's own declarations name DOM types (RequestInfo): with no skipLibCheck, a Node program adds the lib
    lib: ['es2024', 'dom'],
    types: ['node'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
  },
  files: ['main.ts'],
};

async function sh(file: string, args: string[], cwd: string): Promise<string> {
  try {
    return (await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`);
  }
}

beforeAll(async () => {
  db = await createTestDatabase(inject('pgServerUrl'), { poolSize: 4 });
  app = await buildServer({
    orm: db.orm,
    inner: {
      ...deps(),
      tokens: createTokenSigner('packed-client-test-secret-of-32-chars'),
      identities: createIdentityVerifier({ devSecret: AUTH_SECRET }),
    },
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });

  consumer = await mkdtemp(join(tmpdir(), 'frontrow-client-consumer-'));
  // prepack builds dist/; the tarball is what `pnpm publish` would upload
  await sh('pnpm', ['pack', '--pack-destination', consumer], packageDir);
  const tarball = (await readdir(consumer)).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('pnpm pack made no tarball');
  await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  // npm, not the workspace's pnpm: the peers (@trpc/client, @trpc/server) come from the registry as for any outsider
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`, '@types/node@24'], consumer);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await db?.drop();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe('the packed @frontrow/api-client', () => {
  it('names only registry dependencies and exports built files (types and ESM), no TypeScript source', async () => {
    const installed = join(consumer, 'node_modules/@frontrow/api-client');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:|catalog:/);
    expect(manifest.peerDependencies).toEqual({ '@trpc/client': expect.any(String), '@trpc/server': expect.any(String) });
    const root = (manifest.exports as Record<string, { types: string; import: string }>)['.'];
    expect(root?.types).toMatch(/\.d\.ts$/);
    expect(root?.import).toMatch(/\.js$/);
    for (const file of [root?.types, root?.import]) expect((await stat(join(installed, file ?? 'missing'))).isFile()).toBe(true);
    // the declarations stand alone: nothing from the server's workspace packages or its libraries
    const declarations = await readFile(join(installed, root?.types ?? 'missing'), 'utf8');
    const imported = [...declarations.matchAll(/from '([^']+)'|import\("([^"]+)"\)/g)].map((m) => m[1] ?? m[2]);
    expect(imported.filter((specifier) => !specifier?.startsWith('@trpc/'))).toEqual([]);
  });

  it('type-checks a strict program against the package, which then enters the queue and reads its status on a live API', async () => {
    const concertId = (await createConcert(deps(), { title: 'Packed', venue: 'Hall', dates: ['2099-09-01'], maxActive: 1 })).concertId;
    await writeFile(join(consumer, 'main.ts'), CONSUMER_PROGRAM);
    await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    await sh(process.execPath, [workspaceTsc, '-p', 'tsconfig.json'], consumer);

    const identityToken = await mintDevIdentityToken(AUTH_SECRET, { subject: 'packed-consumer' });
    const output = await sh(process.execPath, ['main.ts', url, concertId, identityToken], consumer);
    expect(JSON.parse(output)).toEqual(CONSUMER_PRINTS);
  });
});
