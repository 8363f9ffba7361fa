/** `/healthz` (the process answers) and `/readyz` (the database answers and has every migration of this code). */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type DatabaseProbe, MIGRATE_COMMAND } from '@frontrow/core';
import { withTimeout } from '../metrics.ts';

export const probes = fp(async (app: FastifyInstance, { database, timeoutMs }: { database: DatabaseProbe; timeoutMs: number }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // once the schema has every migration of this code it stays so (migrations only go forward)
  let schemaCurrent = false;
  app.get('/readyz', async (_req, reply) => {
    let pending: string[];
    try {
      await withTimeout(database.ping(), timeoutMs);
      pending = schemaCurrent ? [] : await withTimeout(database.pendingMigrations(), timeoutMs);
    } catch (error) {
      app.databaseState.failed(error, 'readyz', { unavailable: true });
      return reply.code(503).send({ status: 'unavailable', reason: 'BUSY' });
    }
    if (pending.length > 0) return reply.code(503).send({ status: 'unavailable', reason: 'SCHEMA_BEHIND', pending, run: MIGRATE_COMMAND });
    schemaCurrent = true;
    app.databaseState.answered();
    return { status: 'ready' };
  });
});
