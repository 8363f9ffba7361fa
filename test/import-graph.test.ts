/**
 * The layers of docs/ARCHITECTURE.md ("Layers and packages"), read from the code: each workspace
 * package's `package.json` dependencies and every import of its production sources (test files and test
 * folders aside). Apps reach the database through core and the runtime, never `@frontrow/db`; db knows
 * no job queue and no other package of ours; core knows no app, no job queue and no HTTP framework.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));

type Workspace = {
  dir: string;
  name: string;
  dependencies: string[];
  sources: { file: string; imports: string[]; typeImports: string[] }[];
};

/**
 * Files allowed to import `@frontrow/db` from an app, each with its reason. The bench reads the database
 * itself to check the invariants after a run (`@frontrow/db/invariants`, shared with the end-to-end test).
 */
const APP_DB_EXCEPTIONS = ['apps/bench/src/'];
/** Apps whose package.json may list `@frontrow/db` for the files above. */
const APP_DB_DEPENDENCY_EXCEPTIONS = ['apps/bench'];

const FORBIDDEN: Record<string, RegExp> = {
  // the database layer: entities, migrations, SQL helpers; nothing above it
  'packages/db': /^(pg-boss|fastify|@fastify\/|@trpc\/|@frontrow\/)/,
  // use cases and rules: the database, never a transport, a job queue, the runtime or an app
  'packages/core': /^(pg-boss|fastify|@fastify\/|@trpc\/|@frontrow\/(jobs|runtime|api|worker|cli|web|bench|api-client))/,
  // the jobs adapter: core's port over pg-boss, no app and no HTTP
  'packages/jobs': /^(fastify|@fastify\/|@trpc\/|@frontrow\/(db|runtime|api|worker|cli|web|bench))/,
  // the process wiring: core, db and jobs, no app
  'packages/runtime': /^(fastify|@fastify\/|@trpc\/|@frontrow\/(api|worker|cli|web|bench))/,
};

function workspaces(): Workspace[] {
  const found: Workspace[] = [];
  for (const group of ['apps', 'packages']) {
    for (const name of readdirSync(join(root, group))) {
      const dir = `${group}/${name}`;
      let manifest: { name: string; dependencies?: Record<string, string> };
      try {
        manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      found.push({
        dir,
        name: manifest.name,
        dependencies: Object.keys(manifest.dependencies ?? {}),
        sources: sourcesOf(join(root, dir, 'src')),
      });
    }
  }
  return found;
}

/** Production sources: `.ts` files under src, not tests (`*.test.ts`) nor test folders. */
function sourcesOf(dir: string): Workspace['sources'] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'test' || name === 'node_modules' ? [] : sourcesOf(path);
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) return [];
    const source = readFileSync(path, 'utf8');
    return [{ file: relative(root, path), imports: importsOf(source), typeImports: typeImportsOf(source) }];
  });
}

/** Module specifiers of static imports and exports, `import type`, and dynamic `import('…')`. */
export function importsOf(source: string): string[] {
  const specifiers = new Set<string>();
  for (const match of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) {
    if (match[1]) specifiers.add(match[1]);
  }
  return [...specifiers];
}

/** Specifiers imported for types alone (`import type … from`, `export type … from`): erased, never loaded. */
function typeImportsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export) type [^'"]*?from\s+['"]([^'"]+)['"]/gm)].flatMap((m) => (m[1] ? [m[1]] : []));
}

const isDb = (specifier: string) => specifier === '@frontrow/db' || specifier.startsWith('@frontrow/db/');
const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);

describe('the import graph: apps → core (and the runtime, jobs) → db', () => {
  const all = workspaces();

  it('reads every workspace package and its sources (the check below is not vacuous)', () => {
    const dirs = all.map((w) => w.dir);
    for (const dir of ['apps/api', 'apps/worker', 'apps/cli', 'packages/core', 'packages/db', 'packages/jobs', 'packages/runtime']) {
      expect(dirs).toContain(dir);
    }
    expect(all.find((w) => w.dir === 'apps/api')?.sources.length).toBeGreaterThan(5);
    expect(importsOf("import type { A } from '@frontrow/db';\nconst b = await import('@frontrow/db/embedded');")).toEqual([
      '@frontrow/db',
      '@frontrow/db/embedded',
    ]);
  });

  it('no app imports @frontrow/db, nor lists it among its dependencies', () => {
    const offences: string[] = [];
    for (const app of all.filter((w) => w.dir.startsWith('apps/'))) {
      if (app.dependencies.includes('@frontrow/db') && !APP_DB_DEPENDENCY_EXCEPTIONS.includes(app.dir)) {
        offences.push(`${app.dir}/package.json depends on @frontrow/db`);
      }
      for (const { file, imports } of app.sources) {
        if (APP_DB_EXCEPTIONS.some((allowed) => file.startsWith(allowed))) continue;
        for (const specifier of imports.filter(isDb)) offences.push(`${file} imports ${specifier}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('db, core, jobs and the runtime import nothing above their layer (db: no pg-boss, no package of ours)', () => {
    const offences: string[] = [];
    for (const [dir, forbidden] of Object.entries(FORBIDDEN)) {
      const workspace = all.find((w) => w.dir === dir);
      if (!workspace) throw new Error(`no workspace ${dir}`);
      for (const dependency of workspace.dependencies.filter((d) => forbidden.test(d)))
        offences.push(`${dir}/package.json depends on ${dependency}`);
      for (const { file, imports } of workspace.sources) {
        for (const specifier of imports.filter((s) => forbidden.test(s))) offences.push(`${file} imports ${specifier}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('every package of ours a production source loads is a declared dependency (a type-only import is erased: the AppRouter of api-client)', () => {
    const offences: string[] = [];
    for (const workspace of all) {
      for (const { file, imports, typeImports } of workspace.sources) {
        for (const specifier of imports.filter((s) => s.startsWith('@frontrow/'))) {
          const name = packageOf(specifier);
          if (name === workspace.name || workspace.dependencies.includes(name) || typeImports.includes(specifier)) continue;
          offences.push(`${file} imports ${name}, not in dependencies`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
