/**
 * One API process against DATABASE_URL (`pnpm start:api`). Neither migrates nor seeds: run
 * `frontrow db migrate` first. SIGTERM stops taking requests, finishes those in flight, closes pools, exits 0.
 */
import closeWithGrace from 'close-with-grace';
import { parseConfig } from '@frontrow/core';
import { openRuntime } from '@frontrow/runtime';
import { buildApiServer } from './compose.ts';
import { DEFAULT_WEB_ROOT } from './web.ts';

/** Connections waiting to be accepted (OPERATIONS.md, Sizing): the kernel caps it at net.core.somaxconn. */
const LISTEN_BACKLOG = 8192;

try {
  const config = parseConfig(process.env);
  if (!config.DATABASE_URL) {
    throw new Error('DATABASE_URL is required for start:api (use `pnpm start` for the embedded database)');
  }
  // a sender of jobs only (workers run them); never migrates nor creates the schema
  const runtime = await openRuntime(config, { role: 'api', schema: 'assert' });
  const app = await buildApiServer(runtime, { webRoot: config.WEB_ROOT ?? DEFAULT_WEB_ROOT });
  runtime.onClose(() => app.close());

  closeWithGrace({ delay: 20_000, logger: { error: (message: unknown) => app.log.error(message) } }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'stopping after an uncaught error');
    else app.log.info({ signal }, 'stopping: draining requests in flight');
    await runtime.close();
    app.log.info('stopped');
  });

  // a connect storm (thousands of queue.watch streams reconnecting at once) overflows Node's default
  // backlog of 511 and the kernel resets the rest: ask for more (the kernel caps it at net.core.somaxconn)
  await app.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG });
} catch (error) {
  // a configuration or connection problem: one clear line, no stack
  console.error(`frontrow api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
