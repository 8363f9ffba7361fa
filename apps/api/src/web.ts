/**
 * The web app (apps/web: the waiting room at `/`, the operators' console at `/console`) served as static
 * files, when its build exists. A Fastify plugin of its own, so the API serves it with one registration
 * and runs without it (the web app can be deployed alone).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `pnpm --filter @frontrow/web build` writes the app (`bash scripts/setup.sh` builds it). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** True when `root` holds a built web app. */
export function hasWebApp(root: string): boolean {
  return existsSync(join(root, 'index.html')) && existsSync(join(root, 'console.html'));
}

/**
 * Serves the build in `root`: hashed assets under `/assets/` cached for a year, the two pages never cached
 * (a deploy is seen at the next load). Nothing is registered when the build is missing.
 */
export async function webApp(app: FastifyInstance, options: { root: string }): Promise<void> {
  if (!hasWebApp(options.root)) {
    app.log.warn({ root: options.root }, 'web app not built (pnpm --filter @frontrow/web build): / and /console are not served');
    return;
  }
  await app.register(fastifyStatic, {
    root: join(options.root, 'assets'),
    prefix: '/assets/',
    immutable: true,
    maxAge: '365d',
    index: false,
  });
  const page = (file: string) => async (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile(file, options.root, { cacheControl: false });
  app.get('/', page('index.html'));
  app.get('/console', page('console.html'));
}
