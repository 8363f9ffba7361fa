import type { FastifyInstance } from 'fastify';
import type { Runtime } from '@frontrow/runtime';
import { buildServer } from './server.ts';

/**
 * The API over an opened runtime (role `api` or `all`), as `main.ts` and `frontrow start` run it: the
 * server's options from the configuration, and the runtime's background errors (pg-boss, the admission
 * state) in its log. The caller registers `app.close` with the runtime where its shutdown order wants it.
 */
export async function buildApiServer(runtime: Runtime, options: { webRoot: string }): Promise<FastifyInstance> {
  const { config, edge, boss } = runtime;
  if (!edge) throw new Error('the API needs a runtime opened with role api or all');
  const app = await buildServer({
    orm: runtime.orm,
    inner: { ...runtime.deps, ...edge },
    webRoot: options.webRoot,
    logger: { level: config.LOG_LEVEL },
    queueEnterRateLimit: config.QUEUE_ENTER_RATE_LIMIT,
    maxBatch: config.TRPC_MAX_BATCH,
    ...(config.TRUST_PROXY ? { trustProxy: config.TRUST_PROXY } : {}),
    ...(boss ? { jobQueues: boss } : {}),
  });
  // the database away is one line per change of state (the server's), not one stack per pg-boss retry
  runtime.reportErrorsTo((error, source) => {
    if (app.databaseState.failed(error, source)) return;
    app.log.warn({ err: error }, source === 'pg-boss' ? 'pg-boss error' : 'admission state: read or LISTEN failed (retrying)');
  });
  return app;
}
