/** `/healthz` (the process answers) and `/readyz` (the database answers and has every migration of this code: readiness.ts). */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabaseProbe } from '@frontrow/core';
import { readinessCheck } from '../readiness.ts';

export const probes = fp(async (app: FastifyInstance, { database, timeoutMs }: { database: DatabaseProbe; timeoutMs: number }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  const readiness = readinessCheck(database, app.databaseState, timeoutMs);
  app.get('/readyz', async (_req, reply) => {
    const { status, body } = await readiness();
    return reply.code(status).send(body);
  });
});
