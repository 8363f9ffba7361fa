/**
 * The declaration build resolves every workspace package the router's types reach as source, through the
 * `paths` of both build configs. A package left out is reached through its node_modules link as an external
 * library: TypeScript 7 then decides per run, its threads racing, whether the sources that package shares with
 * the mapped ones are emitted, and `pnpm pack` fails now and then inside api-extractor ("getResolvedModule()
 * could not resolve module name"). The failure is a race, so this test checks its cause, not a build.
 */
import { readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

async function json(path: URL): Promise<Record<string, unknown>> {
  // the build configs are JSON with comments: whole-line `//` comments only
  return JSON.parse((await readFile(path, 'utf8')).replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;
}

/** The workspace's packages by name, each with the workspace packages it depends on. */
async function workspacePackages(): Promise<Map<string, string[]>> {
  const packages = new Map<string, string[]>();
  for (const dir of ['apps/api', 'packages/core', 'packages/db', 'packages/jobs', 'packages/runtime', 'packages/api-client']) {
    const manifest = await json(new URL(`${dir}/package.json`, root));
    const named = {
      ...(manifest.dependencies as object),
      ...(manifest.devDependencies as object),
      ...(manifest.peerDependencies as object),
    };
    packages.set(
      manifest.name as string,
      Object.entries(named as Record<string, string>)
        .filter(([, version]) => version.startsWith('workspace:'))
        .map(([name]) => name),
    );
  }
  return packages;
}

/** `@frontrow/api` and every workspace package it reaches, however deep. */
async function reachedFromApi(): Promise<string[]> {
  const packages = await workspacePackages();
  const reached = new Set<string>();
  const visit = (name: string) => {
    if (reached.has(name)) return;
    reached.add(name);
    const deps = packages.get(name);
    if (!deps) throw new Error(`${name} is a workspace dependency this test does not read: add its directory above`);
    for (const dep of deps) visit(dep);
  };
  visit('@frontrow/api');
  return [...reached].sort();
}

const DIRS: Record<string, string> = {
  '@frontrow/api': 'apps/api',
  '@frontrow/core': 'packages/core',
  '@frontrow/db': 'packages/db',
  '@frontrow/jobs': 'packages/jobs',
  '@frontrow/runtime': 'packages/runtime',
};

/**
 * What must be mapped: each reached package, and each of its entry points (`@frontrow/core/edge`) that a
 * reached package's sources import (tests and test helpers aside). A subpath is a module specifier of its own:
 * unmapped, it is reached through node_modules, with the same race.
 */
async function specifiersToMap(): Promise<string[]> {
  const reached = await reachedFromApi();
  const specifiers = new Set(reached);
  for (const name of reached) {
    const dir = DIRS[name];
    if (!dir) throw new Error(`${name}: add its directory to DIRS`);
    const files = (await readdir(new URL(`${dir}/src/`, root), { recursive: true })).filter(
      (file) => file.endsWith('.ts') && !/\.test\.ts$|(^|\/)testing\.ts$/.test(file),
    );
    for (const file of files) {
      const text = await readFile(new URL(`${dir}/src/${file}`, root), 'utf8');
      for (const [, specifier] of text.matchAll(/from '(@frontrow\/[a-z-]+\/[a-z/-]+)'/g)) if (specifier) specifiers.add(specifier);
    }
  }
  return [...specifiers].sort();
}

describe("the api-client's declaration build", () => {
  it('maps every workspace package the API reaches, and each entry point of one its sources import, to its source, in the tsc config and in api-extractor', async () => {
    const reached = await specifiersToMap();
    expect(reached).toContain('@frontrow/runtime');
    expect(reached).toContain('@frontrow/core/edge');
    const tsc = await json(new URL('packages/api-client/build/tsconfig.types.json', root));
    const extractor = await json(new URL('packages/api-client/build/api-extractor.json', root));
    const tscPaths = (tsc.compilerOptions as { paths: object }).paths;
    const extractorPaths = (extractor.compiler as { overrideTsconfig: { compilerOptions: { paths: object } } }).overrideTsconfig
      .compilerOptions.paths;
    expect(Object.keys(tscPaths).sort()).toEqual(reached);
    expect(Object.keys(extractorPaths).sort()).toEqual(reached);
  });
});
