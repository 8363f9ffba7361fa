import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import type { MikroORM } from '@frontrow/db';
import { type InnerContext, createContextFactory } from './context.ts';
import { type AppRouter, appRouter } from './router.ts';

export type ServerDeps = {
  orm: MikroORM;
  inner: InnerContext;
  logger?: FastifyServerOptions['logger'];
};

/** The HTTP edge: tRPC at /trpc beside /healthz and /readyz. `main.ts` only listens and closes. */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    routerOptions: { maxParamLength: 5000 },
    // a request id on every log line, echoed to the client for support
    requestIdHeader: 'x-request-id',
    disableRequestLogging: true,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.orm.em.getConnection().execute('select 1');
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'BUSY' });
    }
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: createContextFactory(deps.inner),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') app.log.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });
  return app;
}
